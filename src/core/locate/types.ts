/** The locator's data: what a found literal is, and what an edit of one is. Pure. */

/** The language a file is read as (by its extension: see languageOf). */
export type LrKind = 'yaml' | 'json' | 'toml' | 'ini' | 'gin' | 'python' | 'js' | 'ipynb';

export interface LrLiteral {
  /** 1-based line (in a notebook: of the cell's source). */
  line: number;
  /** 1-based column (UTF-16 code units; a leading BOM is not counted). */
  column: number;
  /** 0-based offset of the number text in the file text (in a notebook: in the JSON text of the .ipynb file). */
  offset: number;
  /** Length of the number text. */
  length: number;
  /**
   * The LR key: dotted path in YAML/JSON/TOML/INI (`optimizer.lr`, `net.learning_rate`), the binding in gin
   * (`create_optimizer.learning_rate`), the name as written in Python/JS (`lr`, `self.lr`, `--lr`).
   */
  key: string;
  /** The number exactly as written (`3.0e-4`, `1_000e-6`). */
  text: string;
  /** The learning rate the literal gives: its number, times `factor` when it has one. */
  value: number;
  /**
   * The literal is the first number of a product (`lr=5e-4 * 1024 / 512`, `lr = (0.1 / 256) * batch_size`): the
   * product's other factors are constants, and multiply it by this (2 here; replacementFor divides by it), or
   * `product` says they are names and the number is written as given (the base LR of a scaling rule).
   */
  factor?: number;
  product?: boolean;
  kind: LrKind;
  /** The trimmed source line (in a notebook: the cell's line). */
  context: string;
  /** How likely this is "the" learning rate; the list is sorted by it. */
  score: number;
  /** Notebooks only: the 0-based index of the code cell in the notebook's `cells`. */
  cell?: number;
}

export interface AppliedEdit {
  /** The whole new file text. */
  text: string;
  /** The new number text. */
  replacement: string;
  /** The replaced range in the OLD text: [offset, offset + length). */
  offset: number;
  length: number;
}

/** A candidate as a language module finds it: where its number is, its key and its score. */
export interface Found {
  offset: number;
  length: number;
  key: string;
  score: number;
  /** The first number of a product: its constant factor (see LrLiteral.factor), NaN when other factors are names. */
  factor?: number;
}
