/**
 * What the arguments of a call say, read at its `)`: an argparse/click option's default, a dataclass/pydantic/typer
 * field's default, an absl/TF flag's default, the positional learning rate of an optimizer constructor or of a fastai
 * fit. Pure.
 */
import { learningRateKeyScore, OPTIMIZER_NAMES, POSITIONAL_SCORE } from './keys';
import { add, addArgument, isOp, single, splitArgs, type Frame, type Range, type Scan } from './scan';

/** Calls whose `default=` (or first argument) is the value of the field they are assigned to. */
const FIELD_CALLS = new Set(['field', 'Field', 'attrib', 'ib', 'Option', 'Argument', 'Param', 'param']);
const FIELD_POSITIONAL = new Set(['Field', 'Option', 'Argument', 'Param']);
/** absl.flags / tf.compat.v1.flags: DEFINE_float(name, default, help). */
const FLAG_CALLS = new Set(['DEFINE_float']);
/** fastai's Learner fits and the index of their positional learning rate: fit_one_cycle(n_epoch, lr_max), fit_sgdr(n_cycles, cycle_len, lr_max)... */
const FIT_LR_ARGUMENT = new Map([['fit_one_cycle', 1], ['fine_tune', 1], ['fit_flat_cos', 1], ['fit_sgdr', 2], ['fit', 1]]);

interface Call {
  frame: Frame;
  callee: string;
  /** The last component of the callee: `add_argument`, `Adam`. */
  name: string;
  keywords: Map<string, Range>;
  positional: Range[];
}

function readCall(s: Scan, f: Frame, close: number): Call {
  const keywords = new Map<string, Range>();
  const positional: Range[] = [];
  for (const [a, b] of splitArgs(s, f.index, close)) {
    if (s.toks[a].type === 'name' && isOp(s.toks[a + 1], '=') && b > a + 2) keywords.set(s.toks[a].value, [a + 2, b]);
    else if (!isOp(s.toks[a], '*') && !isOp(s.toks[a], '**') && !isOp(s.toks[a], '...')) positional.push([a, b]);
  }
  const callee = f.callee!;
  return { frame: f, callee, name: callee.split('.').pop()!, keywords, positional };
}

/** The content of a plain string that is the whole range. */
function stringArg(s: Scan, r: Range | undefined): string | undefined {
  return r && r[1] - r[0] === 1 ? s.toks[r[0]].str : undefined;
}

function hasLrKeyword(call: Call): boolean {
  return [...call.keywords.keys()].some((k) => learningRateKeyScore(k) !== undefined);
}

/** An option whose name is not an LR but whose help or metavar says it is one (`--blr ... metavar='LR'`, help='base learning rate'). */
const HELP_SCORE = 80;
const HELP_SAYS_LR = /\blearning[ _-]?rate\b/i;
/** ...unless the help says it is something about the LR: its decay, warm-up, minimum, schedule, a factor of it. */
const HELP_SAYS_OTHER = /\b(decay|warm-?up|min(imum)?|lower|final|end|schedul\w*|factor|multiplier|ratio|scal(e|ing)|gamma|patience|step size for|epochs?|finder|range)\b/i;

/** The option names of an argparse/argparse.js call: its positional strings that start with a dash. */
function optionNames(s: Scan, call: Call): string[] {
  return call.positional.map((r) => stringArg(s, r)).filter((o): o is string => o !== undefined && /^-{1,2}[A-Za-z]/.test(o));
}

/** Option names that are another hyperparameter, whatever their help says ("Adam's beta1, the learning rate of the mean"). */
const OTHER_HYPERPARAMETER = /beta|momentum|eps|decay|wd|dropout|epoch|batch|seed|gamma|rho|alpha|warm|clip|ratio|steps?$/i;

function optionScore(names: string[], help: string | undefined, metavar: string | undefined): number | undefined {
  const scores = names.map(learningRateKeyScore).filter((x): x is number => x !== undefined);
  if (scores.length > 0) return Math.max(...scores);
  if (names.some((n) => OTHER_HYPERPARAMETER.test(n))) return undefined;
  if (metavar !== undefined && /^lr$/i.test(metavar)) return HELP_SCORE;
  if (help !== undefined && HELP_SAYS_LR.test(help) && !HELP_SAYS_OTHER.test(help)) return HELP_SCORE;
  return undefined;
}

/** parser.add_argument('-l', '--lr', '--learning-rate', type=float, default=0.1) / click.option('--lr', default=0.1). */
function optionDefault(s: Scan, call: Call): boolean {
  const options = optionNames(s, call);
  const def = single(s, call.keywords.get('default'));
  if (s.lang !== 'python' || options.length === 0 || !def) return false;
  const dest = stringArg(s, call.keywords.get('dest'));
  const score = optionScore([...options, ...(dest ? [dest] : [])], stringArg(s, call.keywords.get('help')), stringArg(s, call.keywords.get('metavar')));
  if (score !== undefined) {
    const key = options.find((o) => o.startsWith('--')) ?? options[0]; // argparse's dest comes from the first long option
    add(s, def, key, score);
  }
  return true;
}

/** argparse.js: parser.addArgument('--learningRate', {type: 'float', defaultValue: 1e-2, help: 'Learning rate.'}). */
function jsOptionDefault(s: Scan, call: Call): boolean {
  if (s.lang !== 'js' || (call.name !== 'addArgument' && call.name !== 'add_argument')) return false;
  const options = optionNames(s, call);
  const object = call.positional.find(([a, b]) => isOp(s.toks[a], '{') && isOp(s.toks[b - 1], '}'));
  if (options.length === 0 || !object) return true;
  const props = new Map<string, Range>();
  for (const [a, b] of splitArgs(s, object[0], object[1] - 1)) {
    const k = s.toks[a];
    if ((k.type === 'name' || k.str !== undefined) && isOp(s.toks[a + 1], ':')) props.set(k.type === 'name' ? k.value : k.str!, [a + 2, b]);
  }
  const def = single(s, props.get('defaultValue') ?? props.get('default'));
  const score = optionScore(options, stringArg(s, props.get('help')), stringArg(s, props.get('metavar')));
  if (def && score !== undefined) add(s, def, options.find((o) => o.startsWith('--')) ?? options[0], score);
  return true;
}

/** Keras' and TF 1's schedules whose first argument is the initial LR: ExponentialDecay(1e-3, decay_steps=...). */
const SCHEDULE_CALLS = new Set(['ExponentialDecay', 'InverseTimeDecay', 'PolynomialDecay', 'CosineDecay', 'CosineDecayRestarts',
  'exponential_decay', 'inverse_time_decay', 'polynomial_decay', 'cosine_decay', 'cosine_decay_restarts']);
const SCHEDULE_SCORE = 85;

function positionalScheduleLr(s: Scan, call: Call): boolean {
  if (!SCHEDULE_CALLS.has(call.name) || hasLrKeyword(call)) return false;
  const v = single(s, call.positional[0]);
  if (v) add(s, v, `${call.callee}()`, SCHEDULE_SCORE);
  return true;
}

/** train_fine_tuning(net, 5e-5) for `def train_fine_tuning(net, learning_rate, ...)` in the same file or notebook. */
function positionalUserLr(s: Scan, call: Call): boolean {
  const fn = s.functions.get(call.name);
  if (!fn || hasLrKeyword(call)) return false;
  const arg = call.positional[fn.index];
  if (arg) addArgument(s, arg, `${call.callee}(${fn.key})`, Math.min(fn.score, POSITIONAL_SCORE));
  return true;
}

/** learning_rate: float = field(default=5e-5) / lr: float = Field(1e-3, gt=0) / lr: float = typer.Option(1e-3). */
function fieldDefault(s: Scan, call: Call): boolean {
  const owner = call.frame.owner;
  if (!FIELD_CALLS.has(call.name) || owner === undefined) return false;
  const base = learningRateKeyScore(owner);
  const v = single(s, call.keywords.get('default')) ?? (FIELD_POSITIONAL.has(call.name) ? single(s, call.positional[0]) : undefined);
  if (base !== undefined && v) add(s, v, owner, base);
  return true;
}

/** flags.DEFINE_float("learning_rate", 5e-5, "The initial learning rate for Adam.") (BERT, TF models, absl apps). */
function flagDefault(s: Scan, call: Call): boolean {
  if (s.lang !== 'python' || !FLAG_CALLS.has(call.name)) return false;
  const name = stringArg(s, call.keywords.get('name') ?? call.positional[0]);
  const base = name === undefined ? undefined : learningRateKeyScore(name);
  const v = single(s, call.keywords.get('default') ?? (call.keywords.has('name') ? call.positional[0] : call.positional[1]));
  if (base !== undefined && v) add(s, v, name!, base);
  return true;
}

/** torch.optim.SGD(params, 0.1) / tf.keras.optimizers.Adam(1e-3) / tf.train.adam(0.001). */
function positionalOptimizerLr(s: Scan, call: Call): boolean {
  if (!OPTIMIZER_NAMES.has(call.name.toLowerCase()) || hasLrKeyword(call)) return false;
  const [p0, p1] = call.positional;
  const v = single(s, p0) ?? (s.lang === 'python' && p1 && s.toks[p0[0]].type !== 'number' ? single(s, p1) : undefined);
  if (v) add(s, v, `${call.callee}()`, POSITIONAL_SCORE);
  return true;
}

/** learn.fit_one_cycle(5, 1e-3) / learn.fine_tune(3, 2e-3) / learn.fit_one_cycle(4, slice(1e-6, 1e-4)) / learn.fit(10, 1e-2). */
function positionalFitLr(s: Scan, call: Call): boolean {
  const at = FIT_LR_ARGUMENT.get(call.name);
  if (s.lang !== 'python' || at === undefined || !call.callee.includes('.') || hasLrKeyword(call)) return false;
  const arg = call.positional[at];
  // `fit` alone is Keras' and scikit-learn's too: fastai's takes the number of epochs first.
  if (!arg || (call.name === 'fit' && !single(s, call.positional[0]))) return false;
  addArgument(s, arg, `${call.callee}()`, POSITIONAL_SCORE);
  return true;
}

const RULES = [optionDefault, jsOptionDefault, fieldDefault, flagDefault, positionalOptimizerLr, positionalFitLr, positionalScheduleLr,
  positionalUserLr];

/** An LR finder's call: the fit after it uses the LR it showed (fastai: `learn.lr_find()`, then `fit_one_cycle(5, 1e-3)`). */
const FINDER_CALLS = new Set(['lr_find', 'find_lr', 'lr_finder', 'range_test']);
const AFTER_FINDER_BONUS = 15;

/** At a call's `)`: the first rule that knows the call reads it. */
export function closeCall(s: Scan, f: Frame, close: number): void {
  const call = readCall(s, f, close);
  if (FINDER_CALLS.has(call.name)) s.afterFinder = true;
  for (const rule of RULES) if (rule(s, call)) break;
  if (FIT_LR_ARGUMENT.has(call.name) && call.callee.includes('.') && s.lang === 'python') {
    // Every LR of this fit (positional, base_lr=, lr_max=slice(...)) was found by now: its offsets lie inside the call.
    const from = s.toks[f.index].start, to = s.toks[close].start;
    const inside = s.found.filter((x) => x.offset > from && x.offset < to);
    if (s.afterFinder && inside.length) {
      for (const x of inside) x.score += AFTER_FINDER_BONUS;
      s.afterFinder = false;
    }
  }
}
