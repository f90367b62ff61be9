/** Jupyter notebooks: the LR literals of the code cells, rewritten inside the .ipynb JSON text byte for byte. */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { applyLearningRate, locateInNotebookCell, locateInNotebookCells, locateLearningRates, relocate, type LrLiteral } from '../../src/core/locate';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'locate');
const fixture = (name: string): string => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

type Row = [cell: number | undefined, line: number, column: number, key: string, text: string];
const rows = (list: LrLiteral[]): Row[] => list.map((c) => [c.cell, c.line, c.column, c.key, c.text]);

interface Cell { cell_type: string; source: string | string[]; outputs?: unknown[]; metadata?: object }
/** A notebook as Jupyter writes it (one-space indent, sorted keys do not matter here), with Python metadata. */
function notebook(cells: Cell[], metadata: object = { kernelspec: { language: 'python', name: 'python3' } }): string {
  return JSON.stringify({ cells: cells.map((c) => ({ metadata: {}, ...c })), metadata, nbformat: 4, nbformat_minor: 5 }, null, 1) + '\n';
}
const code = (source: string | string[], outputs: unknown[] = []): Cell => ({ cell_type: 'code', source, outputs });
const sourceOf = (nb: string, cell: number): string => {
  const s = (JSON.parse(nb) as { cells: Cell[] }).cells[cell].source;
  return Array.isArray(s) ? s.join('') : s;
};

/** Rewrite `literal` and check the notebook is the same JSON but for that cell's source, and the same text but for the number. */
function assertInPlace(text: string, literal: LrLiteral, value: number, cellBefore: string, cellAfter: string): string {
  const edit = applyLearningRate(text, literal, value);
  assert.strictEqual(edit.text, text.slice(0, literal.offset) + edit.replacement + text.slice(literal.offset + literal.length));
  const before = JSON.parse(text) as { cells: Cell[] };
  const after = JSON.parse(edit.text) as { cells: Cell[] };
  assert.strictEqual(sourceOf(text, literal.cell!), cellBefore);
  assert.strictEqual(sourceOf(edit.text, literal.cell!), cellAfter);
  after.cells[literal.cell!].source = before.cells[literal.cell!].source;
  assert.deepStrictEqual(after, before, 'nothing else in the notebook changed');
  return edit.text;
}

describe('locate: Jupyter notebooks', () => {
  it('finds fastai fits in the code cells of a lesson notebook; never markdown, outputs, comments or magics', () => {
    const text = fixture('fastai_pets.ipynb');
    const list = locateLearningRates('fastai_pets.ipynb', text);
    assert.deepStrictEqual(rows(list), [
      [6, 2, 24, 'learn.fit_one_cycle()', '3e-3'],
      [7, 2, 43, 'lr_max', '1e-4'],
      [8, 1, 24, 'learn.fit_one_cycle()', '1e-3'],
      [3, 2, 28, 'base_lr', '2e-3'],
      [7, 2, 37, 'lr_max.start', '1e-6'],
    ]);
    assert.ok(list.every((c) => c.kind === 'ipynb'));
    assert.strictEqual(list[1].context, 'learn.fit_one_cycle(6, lr_max=slice(1e-6, 1e-4))');
    for (const c of list) assert.strictEqual(text.slice(c.offset, c.offset + c.length), c.text, 'the offset is in the file text');
  });

  it('rewrites a literal inside the JSON string of its cell, every other byte kept (indentation, key order, outputs)', () => {
    const text = fixture('fastai_pets.ipynb');
    const list = locateLearningRates('fastai_pets.ipynb', text);
    const upper = list.find((c) => c.key === 'lr_max')!;
    const lower = list.find((c) => c.key === 'lr_max.start')!;
    const cell7 = '# learn.fit_one_cycle(12, lr_max=1e-4) was too slow\nlearn.fit_one_cycle(6, lr_max=slice(1e-6, 1e-4))';
    const once = assertInPlace(text, upper, 3e-4, cell7, cell7.replace('1e-4))', '3e-4))'));
    // The lower end, on the same line, found again in the new text.
    const again = locateLearningRates('fastai_pets.ipynb', once).find((c) => c.key === 'lr_max.start')!;
    assert.deepStrictEqual([again.cell, again.line, again.column, again.offset], [lower.cell, lower.line, lower.column, lower.offset]);
    assertInPlace(once, again, 1e-5, cell7.replace('1e-4))', '3e-4))'), cell7.replace('1e-6', '1e-5').replace('1e-4))', '3e-4))'));
  });

  it("finds Keras' Adam(1e-3) in a one-string source after escaped quotes, and a plain lr = 1e-3; not in a raw cell", () => {
    const text = fixture('keras_mnist.ipynb');
    assert.ok(!text.endsWith('\n'), 'Colab writes no final newline: the fixture keeps it that way');
    const list = locateLearningRates('keras_mnist.ipynb', text);
    assert.deepStrictEqual(rows(list), [
      [3, 1, 80, 'keras.optimizers.Adam()', '1e-3'],
      [1, 8, 6, 'lr', '1e-3'],
    ]);
    const cell3 = sourceOf(text, 3);
    const after = assertInPlace(text, list[0], 3e-4, cell3, cell3.replace('Adam(1e-3)', 'Adam(3e-4)'));
    assert.ok(!after.endsWith('\n'));
  });

  it('maps positions through JSON escapes (\\", \\t, \\u00e9, \\\\) and never takes a number split between two strings', () => {
    const text = notebook([
      code(['s = "caf\u00e9\\t"; lr = 3e-4\n', 'x = 1\n']),
      code(['lr = 1e', '-3\n', 'max_lr = 0.01']),
    ]).replace('caf\u00e9', 'caf\\u00e9');
    assert.ok(text.includes('"s = \\"caf\\u00e9\\\\t\\"; lr = 3e-4\\n"'), 'the escapes are in the file');
    const list = locateLearningRates('e.ipynb', text);
    assert.deepStrictEqual(rows(list), [[0, 1, 20, 'lr', '3e-4'], [1, 2, 10, 'max_lr', '0.01']]);
    assert.strictEqual(list[0].context, 's = "caf\u00e9\\t"; lr = 3e-4');
    assertInPlace(text, list[0], 1e-3, 's = "caf\u00e9\\t"; lr = 3e-4\nx = 1\n', 's = "caf\u00e9\\t"; lr = 1e-3\nx = 1\n');
  });

  it('skips shell and magic lines, cells of other cell magics, cell metadata and outputs; reads %%time and %%writefile x.py', () => {
    const text = notebook([
      code(['!python train.py --lr 0.1\n', '%env LR=0.2\n', '  %time lr = 0.3\n', 'lr = 0.4']),
      code(['%%bash\n', 'lr=0.5\n']),
      code(['%%time\n', 'learn.fit_one_cycle(1, 6e-3)']),
      code(['%%writefile train.py\n', 'opt = torch.optim.SGD(model.parameters(), lr=0.05)\n']),
      code(['%%writefile notes.txt\n', 'lr = 0.6\n']),
      { cell_type: 'code', source: 'x = 1', metadata: { lr: 0.7 }, outputs: [{ output_type: 'stream', name: 'stdout', text: ['lr = 0.8\n'] }] },
      { cell_type: 'markdown', source: ['lr = 0.9'] },
      { cell_type: 'raw', source: 'lr = 0.91' },
    ]);
    assert.deepStrictEqual(rows(locateLearningRates('m.ipynb', text)), [
      [3, 2, 46, 'lr', '0.05'],
      [0, 4, 6, 'lr', '0.4'],
      [2, 2, 24, 'learn.fit_one_cycle()', '6e-3'],
    ]);
  });

  it('reads nothing in a notebook of another kernel, a broken file or one without cells; keeps a BOM and CRLF', () => {
    const cells = [code('lr = 0.1')];
    assert.deepStrictEqual(locateLearningRates('r.ipynb', notebook(cells, { kernelspec: { language: 'R', name: 'ir' } })), []);
    assert.deepStrictEqual(locateLearningRates('j.ipynb', notebook(cells, { language_info: { name: 'julia' } })), []);
    assert.strictEqual(locateLearningRates('p.ipynb', notebook(cells, {})).length, 1, 'no kernel metadata: Python');
    assert.deepStrictEqual(locateLearningRates('b.ipynb', '{"cells": [{"cell_type": "code", "source": ["lr = 0.1'), []);
    assert.deepStrictEqual(locateLearningRates('n.ipynb', '{"lr": 0.1}'), []);
    const crlf = '\uFEFF' + notebook([code(['lr = 0.1\r\n', 'max_lr = 0.2'])]).replace(/\n/g, '\r\n');
    const list = locateLearningRates('c.ipynb', crlf);
    assert.deepStrictEqual(rows(list), [[0, 1, 6, 'lr', '0.1'], [0, 2, 10, 'max_lr', '0.2']]);
    assert.strictEqual(applyLearningRate(crlf, list[1], 0.3).text, crlf.replace('max_lr = 0.2', 'max_lr = 0.3'));
  });

  it('reads the code cells as one program: a function defined in an earlier cell, the fit after an lr_find() in the cell before', () => {
    const text = notebook([
      code('def train_fine_tuning(net, learning_rate, batch_size=128):\n    pass'),
      { cell_type: 'markdown', source: 'Fine-tune with a small LR: train_fine_tuning(net, 0.1)' },
      code('train_fine_tuning(finetune_net, 5e-5)'),
      code('learn = Learner(dls, model, lr=1e-2)\nlearn.lr_find('),
      code('learn.lr_find()'),
      code('learn.fit_one_cycle(5, 1e-3)'),
    ]);
    assert.deepStrictEqual(rows(locateLearningRates('nb.ipynb', text)), [
      [5, 1, 24, 'learn.fit_one_cycle()', '1e-3'],
      [3, 1, 32, 'lr', '1e-2'],
      [2, 1, 33, 'train_fine_tuning(learning_rate)', '5e-5'], // cell 3's unclosed call ends with its cell
    ]);
  });

  it("locates in one cell's source (the editor's cell documents), offsets in that source", () => {
    const source = '# lr = 0.1\nlearn.fine_tune(3, base_lr=2e-3)\n%time learn.fit(1, 0.5)';
    const list = locateInNotebookCell(source, 4);
    assert.deepStrictEqual(rows(list), [[4, 2, 28, 'base_lr', '2e-3']]);
    assert.strictEqual(source.slice(list[0].offset, list[0].offset + list[0].length), '2e-3');
    assert.deepStrictEqual(locateInNotebookCell('%%html\n<b>lr = 0.1</b>', 0), []);
  });

  it("the editor's cell documents read as one program give the file's literals (the fit after lr_find() in the cell before first)", () => {
    const text = fixture('fastai_pets.ipynb');
    const cells = (JSON.parse(text) as { cells: Cell[] }).cells
      .map((c, cell) => ({ cell, type: c.cell_type, source: sourceOf(text, cell) })).filter((c) => c.type === 'code');
    const inCells = locateInNotebookCells(cells);
    const inFile = locateLearningRates('fastai_pets.ipynb', text);
    const key = (l: LrLiteral) => JSON.stringify([l.cell, l.line, l.column, l.key, l.text, l.score]);
    assert.deepStrictEqual([...inCells].sort((a, b) => b.score - a.score).map(key), inFile.map(key));
    for (const l of inCells) assert.strictEqual(cells.find((c) => c.cell === l.cell)!.source.slice(l.offset, l.offset + l.length), l.text);
    const split = [{ cell: 0, source: 'learn.lr_find()' }, { cell: 1, source: 'learn.fine_tune(3, base_lr=2e-3)' }, { cell: 2, source: 'learn.fit_one_cycle(6, lr_max=slice(1e-6, 1e-4))' }];
    assert.deepStrictEqual(rows([...locateInNotebookCells(split)].sort((a, b) => b.score - a.score)).slice(0, 1), [[1, 1, 28, 'base_lr', '2e-3']]);
  });

  it('relocates a literal by its line after cells were added above; of identical lines, the one in its own cell', () => {
    const text = notebook([code('lr = 1e-3'), code('x = 1'), code('lr = 3e-3')]);
    const third = locateLearningRates('a.ipynb', text).find((c) => c.cell === 2)!;
    const added = notebook([{ cell_type: 'markdown', source: '# Title' }, code('lr = 1e-3'), code('x = 1'), code('lr = 3e-3')]);
    assert.deepStrictEqual([relocate('a.ipynb', added, third)!.cell, relocate('a.ipynb', added, third)!.text], [3, '3e-3']);

    const twins = notebook([code('learn.fit_one_cycle(5, 1e-3)'), code('x = 1'), code('learn.fit_one_cycle(5, 1e-3)')]);
    const second = locateLearningRates('t.ipynb', twins).find((c) => c.cell === 2)!;
    const edited = notebook([code('learn.fit_one_cycle(5, 1e-3)'), code('x = 1'), code('learn.unfreeze()\nlearn.fit_one_cycle(5, 1e-3)')]);
    assert.deepStrictEqual([relocate('t.ipynb', edited, second)!.cell, relocate('t.ipynb', edited, second)!.line], [2, 2]);
  });
});
