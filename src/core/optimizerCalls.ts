/**
 * Lines of a Python file that construct a torch.optim optimizer (`torch.optim.AdamW(`, `optim.SGD(`, `Adam(` when
 * imported from torch.optim, `timm.optim.create_optimizer_v2(`): where the CodeLens "Find LR" goes. Comments and
 * strings are skipped line by line (a `#` outside quotes ends the code). Pure.
 */
const OPTIMIZERS = ['SGD', 'Adam', 'AdamW', 'Adamax', 'NAdam', 'RAdam', 'RMSprop', 'Rprop', 'Adagrad', 'Adadelta', 'ASGD', 'LBFGS', 'SparseAdam', 'Lion', 'Adafactor', 'LAMB', 'Lamb'];
const QUALIFIED = new RegExp(`\\b(?:torch\\.optim|optim)\\.(?:${OPTIMIZERS.join('|')})\\s*\\(`);
const BARE = new RegExp(`(?<![\\w.])(?:${OPTIMIZERS.join('|')})\\s*\\(`);
const FACTORY = /\b(?:create_optimizer(?:_v2)?|configure_optimizers)\s*\(/;

export function optimizerConstructions(text: string): number[] {
  const bareImported = /^\s*from\s+torch(?:\.optim)?\s+import\s+/m.test(text) || /^\s*from\s+torch\.optim\s+import/m.test(text);
  const out: number[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const code = stripStringsAndComment(raw);
    if (QUALIFIED.test(code) || FACTORY.test(code) || (bareImported && BARE.test(code) && !/^\s*(?:def|class)\s/.test(code))) out.push(i + 1);
  });
  return out;
}

function stripStringsAndComment(line: string): string {
  let out = '';
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\') { i++; continue; }
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === '#') break;
    if (c === '"' || c === "'") { quote = c; out += ' '; continue; }
    out += c;
  }
  return out;
}
