/**
 * Which names are "the learning rate", and how sure we are: the key score, and the context bonus of an optimizer or
 * the penalty of an LR finder's own section. Pure; shared by every language.
 *
 * Score (higher is better): 100 for exactly lr/learning_rate, 95 lr0, 90 max_lr/peak_lr (the finder's value is the max
 * LR of a one-cycle schedule), 85 base_lr/init_lr/initial_lr and eta (XGBoost), 70 any other qualified LR (actor_lr, lr_backbone), 60
 * lr1/lr2; 90 for a positional optimizer argument; +20 inside an optimizer (a call to SGD/Adam/..., TrainingArguments, a key or variable
 * named optimizer/optim, a map with `type: SGD` or `class_path: torch.optim.AdamW`), -50 inside an LR-finder/sweep
 * section (the finder's own range is not "the LR").
 */

/** Words that make an LR-ish name something else than the learning rate (min_lr, lr_decay, warmup_lr, lr_mult...). */
const EXCLUDED_WORDS = new Set([
  'min', 'minimum', 'final', 'end', 'stop', 'last', 'start', 'decay', 'decayed', 'decays', 'warmup', 'warm', 'cooldown',
  'scheduler', 'schedulers', 'sched', 'schedule', 'schedules', 'scheduling', 'policy', 'step', 'steps', 'stepsize',
  'gamma', 'factor', 'factors', 'ratio', 'ratios', 'mult', 'mul', 'multiplier', 'multipliers', 'scale', 'scales',
  'scaling', 'scaler', 'patience', 'milestone', 'milestones', 'restart', 'restarts', 'div', 'divisor', 'divide', 'pct',
  'percent', 'percentage', 'frac', 'fraction', 'power', 'exponent', 'drop', 'lower', 'low', 'floor', 'clip', 'eta',
  'anneal', 'annealing', 'range', 'ranges', 'finder', 'find', 'finding', 'test', 'sweep', 'search', 'grid', 'scan',
  'epochs', 'epoch', 'iters', 'iter', 'iteration', 'iterations', 'type', 'mode', 'noise', 'bound', 'bounds', 'limit',
  'limits', 'threshold', 'log', 'logs', 'logger', 'logging', 'history', 'hist', 'plot', 'current', 'cur', 'new', 'old',
  'prev', 'previous', 'update', 'updates', 'updated', 'ramp', 'rampup', 'reduce', 'reduction', 'increase', 'boost',
  'fn', 'func', 'function', 'lambda', 'callback', 'monitor', 'tol', 'tolerance', 'name', 'names', 'key', 'keys',
  'str', 'path', 'file', 'dir', 'idx', 'index', 'list', 'values', 'weight', 'weights', 'auto', 'period', 'interval',
  'freq', 'frequency', 'num', 'count', 'target', 'cycle', 'cyclic', 'lookup', 'table', 'dict', 'map',
]);
const PEAK_WORDS = new Set(['max', 'maximum', 'peak', 'top']);
/** XGBoost's `eta` (its learning_rate alias): a Greek letter that is sometimes something else, so below lr. */
const ETA_SCORE = 85;
const BASE_WORDS = new Set(['base', 'init', 'initial', 'default', 'global']);

/** Split an identifier into lower-case words: learningRate, LEARNING_RATE, --learning-rate -> [learning, rate]. */
function splitWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => w.toLowerCase());
}

/**
 * How much a key name looks like "the learning rate" (see the file comment), or undefined when it is not an LR at all
 * (min_lr, lr_decay, weight_decay, lr_scheduler, ...). Only the last dotted component counts; leading dashes are ignored.
 */
export function learningRateKeyScore(name: string): number | undefined {
  const last = name.replace(/^-+/, '').split('.').pop() ?? '';
  const words = splitWords(last);
  if (words.length === 1 && words[0] === 'eta') return ETA_SCORE; // XGBoost's name for it
  let core = -1;
  let coreLen = 0;
  for (let i = 0; i < words.length && core < 0; i++) {
    const w = words[i];
    if (/^lr\d*$/.test(w) || w === 'lrate' || w === 'learningrate') { core = i; coreLen = 1; }
    else if (w === 'learning' && words[i + 1] === 'rate') { core = i; coreLen = 2; }
  }
  if (core < 0) return undefined;
  const mods = [...words.slice(0, core), ...words.slice(core + coreLen)];
  if (mods.some((m) => EXCLUDED_WORDS.has(m))) return undefined;
  const coreWord = words[core];
  if (mods.length === 0) return coreWord === 'lr0' ? 95 : /^lr\d+$/.test(coreWord) ? 60 : 100;
  if (mods.every((m) => PEAK_WORDS.has(m))) return 90;
  if (mods.every((m) => BASE_WORDS.has(m))) return 85;
  return 70;
}

/** Optimizer class and factory names, lower case without punctuation. */
export const OPTIMIZER_NAMES = new Set([
  'sgd', 'sgdw', 'sgdp', 'asgd', 'momentum', 'nesterov', 'adam', 'adamw', 'adamax', 'nadam', 'nadamw', 'radam',
  'sparseadam', 'amsgrad', 'adagrad', 'adadelta', 'adafactor', 'rmsprop', 'rprop', 'lbfgs', 'ftrl', 'lamb', 'lars',
  'larc', 'lion', 'novograd', 'adabelief', 'adabound', 'yogi', 'sophia', 'sophiag', 'shampoo', 'adamp', 'fusedadam',
  'fusedlamb', 'fusedsgd', 'adam8bit', 'adamw8bit', 'pagedadamw', 'pagedadamw8bit', 'cpuadam', 'deepspeedcpuadam',
  'adamweightdecay', 'prodigy', 'adan', 'muon', 'schedulefree', 'adamwschedulefree', 'sgdschedulefree', 'solver',
]);

/** optimizer, optim, torch.optim.AdamW, SGD, tf.train.adam, create_optimizer, SOLVER... */
export function isOptimizerName(s: string | undefined): boolean {
  if (!s) return false;
  const last = (s.split(/[./:]/).pop() ?? '').toLowerCase().replace(/[^a-z0-9]/g, '');
  return last.includes('optim') || OPTIMIZER_NAMES.has(last) || TRAINER_SETTINGS.test(last);
}

/** What configures a trainer's optimizer: Hugging Face's TrainingArguments, TRL's SFTConfig/DPOConfig/GRPOConfig... */
const TRAINER_SETTINGS = /trainingarguments$|^(sft|dpo|grpo|ppo|orpo|kto|cpo|reward|rloo)config$/;

/** The LR finder's own settings (lr_finder, range_test, sweep): their start/end LRs are not the training LR. */
function isFinderName(s: string | undefined): boolean {
  if (!s) return false;
  const flat = s.toLowerCase().replace(/[^a-z0-9]/g, '');
  return /finder|rangetest|lrfind|sweep/.test(flat);
}

const OPTIMIZER_BONUS = 20;
const FINDER_PENALTY = -50;
/** The learning rate given positionally to an optimizer (`torch.optim.SGD(params, 0.1)`) or a fit (`fit_one_cycle(5, 1e-3)`). */
export const POSITIONAL_SCORE = 90;

/** The bonus or penalty of where a literal is: the names of the calls, keys and sections around it. */
export function contextScore(labels: Array<string | undefined>): number {
  let s = 0;
  if (labels.some(isOptimizerName)) s += OPTIMIZER_BONUS;
  if (labels.some(isFinderName)) s += FINDER_PENALTY;
  return s;
}
