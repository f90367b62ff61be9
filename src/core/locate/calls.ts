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

/** parser.add_argument('-l', '--lr', '--learning-rate', type=float, default=0.1) / click.option('--lr', default=0.1). */
function optionDefault(s: Scan, call: Call): boolean {
  const options = call.positional
    .map((r) => stringArg(s, r))
    .filter((o): o is string => o !== undefined && /^-{1,2}[A-Za-z]/.test(o));
  const def = single(s, call.keywords.get('default'));
  if (s.lang !== 'python' || options.length === 0 || !def) return false;
  const dest = stringArg(s, call.keywords.get('dest'));
  const scores = [...options, ...(dest ? [dest] : [])].map(learningRateKeyScore).filter((x): x is number => x !== undefined);
  if (scores.length > 0) {
    const key = options.find((o) => o.startsWith('--')) ?? options[0]; // argparse's dest comes from the first long option
    add(s, def, key, Math.max(...scores));
  }
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

const RULES = [optionDefault, fieldDefault, flagDefault, positionalOptimizerLr, positionalFitLr];

/** At a call's `)`: the first rule that knows the call reads it. */
export function closeCall(s: Scan, f: Frame, close: number): void {
  const call = readCall(s, f, close);
  for (const rule of RULES) if (rule(s, call)) return;
}
