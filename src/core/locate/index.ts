/**
 * Finds the learning-rate literals in a training script or config, and rewrites one of them in place.
 *
 * Pure and Node-free (no vscode, no fs, no path): the extension host, the webview and the CLI all use it.
 *
 *   locateLearningRates(fileName, text)  every LR literal, the recommended one first
 *   formatLikeOriginal(original, value)  `value` written in the number style of `original` (1e-3 -> 3e-4, 0.001 -> 0.0003)
 *   applyLearningRate(text, literal, v)  the new text: only the literal's characters change (CRLF, BOM, tabs kept)
 *   relocate(fileName, newText, old)     the same literal again after the document changed
 *
 * Languages (by extension, languageOf), one module each: YAML (yaml.ts), JSON/JSONC (json.ts), TOML (toml.ts), INI-style
 * .ini/.cfg/.conf (ini.ts), gin (gin.ts), Python (python.ts), JavaScript/TypeScript (js.ts) and Jupyter notebooks
 * (notebook.ts: the Python of the code cells). The tree languages share one walker (tree.ts); Python, gin and the
 * notebooks share the Python tokenizer, and Python and JS one pass over their tokens (code.ts, with calls.ts for what
 * a call's arguments say). keys.ts says which names are an LR and scores them, candidate.ts turns what was found into
 * literals, rewrite.ts writes a value back.
 *
 * A candidate is a plain positive decimal literal (`0.001`, `1e-3`, `3.0E-4`, `.001`, `1_000e-6`, `1`) that is the
 * whole value of an LR-named key: `lr`, `learning_rate`, `learningRate`, `LR`, `lrate`, `lr0`, `base_lr`, `max_lr`,
 * `init_lr`, `initial_learning_rate`, `peak_lr`, `actor_lr`...; never `min_lr`, `final_lr`, `lr_decay`, `warmup_lr`,
 * `lr_scheduler`, `lr_mult`, `start_lr`, `end_lr`... (keys.ts). The first number of a product is one (`lr=5e-4 * 1024 /
 * 512`: with `factor` 2 when the rest is constant, so that a write keeps the product the LR; `lr = 0.1 / 256 * bs`:
 * `product`, written as given); other expressions (`0.1 if big else 0.01`, `1e-3 + x`), negative values, zero, strings
 * (`lr: "1e-3"`), YAML aliases and hex literals are never candidates. Python/JS also find
 * argparse/click defaults (`add_argument('--lr', default=0.1)`), dataclass/pydantic fields (`lr: float =
 * field(default=1e-3)`), absl/TF flags (`flags.DEFINE_float("learning_rate", 5e-5, ...)`), the positional learning rate
 * of optimizer constructors (`torch.optim.SGD(params, 0.1)`, `tf.keras.optimizers.Adam(1e-3)`, `tf.train.adam(0.001)`)
 * and of fastai's fits (`learn.fit_one_cycle(5, 1e-3)`; the fit after an `lr_find()` first), Keras schedules'
 * initial LR (`ExponentialDecay(1e-3, ...)`), the LR argument of the file's own functions (`train(net, 5e-5)` for
 * `def train(net, lr)`), tuples (`lr, epochs = 0.01, 5`), `step_size = 0.001` (JAX), a hand-written SGD step
 * (`p.data.add_(-0.1 * p.grad)`), options whose help says "learning rate", argparse.js options, and both ends of a
 * `slice(1e-5, 1e-3)` (the upper end first). A one-number list is a value (`lr: [0.0005]`, fairseq), gin's schedule
 * values are LRs (`multifactor.constant`, trax). A notebook's code cells are read as one program.
 * In the tree languages a schedule string's number is one too (`learning_rate: lin_7e-4`, rl-baselines3-zoo).
 *
 * Keys: YAML/JSON/TOML/INI report the dotted path (`optimizer.lr`, `param_groups[0].lr`, `net.learning_rate`), gin the
 * binding (`create_optimizer.learning_rate`); Python/JS the name as written at the site (`lr`, `self.lr`, `--lr` for a
 * command-line option, `cfg["lr"]` -> `lr`), `CALLEE()` for a positional argument (`tf.train.adam()`,
 * `learn.fit_one_cycle()`), and `KEY.start` for the lower end of a slice. The score is in keys.ts.
 *
 * Offsets are 0-based UTF-16 offsets into `text` (a BOM counts); line and column are 1-based, and the column does not
 * count a BOM at the start of the file (editors do not show it). A notebook's literals also have `cell`, and their line
 * and column are in that cell's source (their offset is still in the file's text).
 */
import { byScore, toLiterals } from './candidate';
import { locateInTokens } from './code';
import { locateGin } from './gin';
import { locateIni } from './ini';
import { tokenizeJs } from './js';
import { locateJson } from './json';
import { locateNotebook } from './notebook';
import { tokenizePython } from './python';
import { locateToml } from './toml';
import { locateYaml } from './yaml';
import type { Found, LrKind, LrLiteral } from './types';

export type { AppliedEdit, LrKind, LrLiteral } from './types';
export { learningRateKeyScore } from './keys';
export { applyLearningRate, formatLikeOriginal, replacementFor } from './rewrite';
export { locateInNotebookCell, locateInNotebookCells } from './notebook';

/** The language of a file by its extension, or undefined when we do not read it. */
export function languageOf(fileName: string): LrKind | undefined {
  const m = /\.([A-Za-z0-9]+)$/.exec(fileName);
  const ext = m ? m[1].toLowerCase() : '';
  switch (ext) {
    case 'yaml': case 'yml': return 'yaml';
    case 'json': case 'jsonc': return 'json';
    case 'py': case 'pyw': case 'pyi': return 'python';
    case 'js': case 'mjs': case 'cjs': case 'jsx': case 'ts': case 'mts': case 'cts': case 'tsx': return 'js';
    case 'toml': return 'toml';
    case 'ini': case 'cfg': case 'conf': return 'ini';
    case 'gin': return 'gin';
    case 'ipynb': return 'ipynb';
    default: return undefined;
  }
}

const LOCATORS: Record<Exclude<LrKind, 'ipynb'>, (text: string) => Found[]> = {
  yaml: locateYaml,
  json: locateJson,
  toml: locateToml,
  ini: locateIni,
  gin: locateGin,
  python: (text) => locateInTokens(tokenizePython(text), 'python'),
  js: (text) => locateInTokens(tokenizeJs(text), 'js'),
};

/**
 * Every learning-rate literal in the file, the recommended one first (highest score; ties in file order). An empty
 * list for an unknown extension or when nothing is found. Never throws.
 */
export function locateLearningRates(fileName: string, text: string): LrLiteral[] {
  const kind = languageOf(fileName);
  if (!kind) return [];
  try {
    return byScore(kind === 'ipynb' ? locateNotebook(text) : toLiterals(text, kind, LOCATORS[kind](text)));
  } catch {
    return [];
  }
}

/**
 * The literal among `candidates` that is `old` again: same key, preferring an identical source line, then (in a
 * notebook) the nearest cell, then the same number text, then the nearest line, then the nearest column (two literals
 * on one line: `slice(1e-6, 1e-4)`); failing that a literal on an identical source line. Undefined when it is gone.
 */
export function relocateAmong(candidates: LrLiteral[], old: LrLiteral): LrLiteral | undefined {
  const rank = (c: LrLiteral): number[] => [
    c.context === old.context ? 0 : 1, Math.abs((c.cell ?? 0) - (old.cell ?? 0)), c.text === old.text ? 0 : 1,
    Math.abs(c.line - old.line), Math.abs(c.column - old.column),
  ];
  const before = (a: number[], b: number[]): boolean => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
    return false;
  };
  const best = (list: LrLiteral[]): LrLiteral | undefined => {
    let top: LrLiteral | undefined;
    let topRank: number[] | undefined;
    for (const c of list) {
      const r = rank(c);
      if (!topRank || before(r, topRank)) { top = c; topRank = r; }
    }
    return top;
  };
  return best(candidates.filter((c) => c.key === old.key)) ?? best(candidates.filter((c) => c.context === old.context));
}

/** The same literal in the changed text (see relocateAmong). */
export function relocate(fileName: string, newText: string, old: LrLiteral): LrLiteral | undefined {
  return relocateAmong(locateLearningRates(fileName, newText), old);
}
