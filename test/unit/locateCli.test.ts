/**
 * `lr-finder locate` / `lr-finder apply` as a user runs them (node bin/lr-finder.js, the esbuild bundle: `npm run -s
 * build` first): notebooks with --cell, two literals on one line with --column, the new config kinds.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'bin/lr-finder.js');
const BUNDLE = path.join(ROOT, 'dist/cli.js');
const FIXTURES = path.join(ROOT, 'test/fixtures/locate');

function newestSource(dir: string): number {
  return Math.max(...fs.readdirSync(dir).map((f) => fs.statSync(path.join(dir, f)).mtimeMs));
}

describe('CLI (bundled): lr-finder locate / apply on notebooks, --column, new kinds', function () {
  this.timeout(60000);
  let dir: string;
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: dir });
  const copy = (name: string): string => {
    fs.copyFileSync(path.join(FIXTURES, name), path.join(dir, name));
    return name;
  };

  before(() => {
    const stale = !fs.existsSync(BUNDLE)
      || fs.statSync(BUNDLE).mtimeMs < Math.max(newestSource(path.join(ROOT, 'src/core/locate')), fs.statSync(path.join(ROOT, 'src/cli/locate.ts')).mtimeMs);
    assert.ok(!stale, 'dist/cli.js is missing or older than src/core/locate: run `npm run -s build` first');
  });
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lr-locate-cli-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('locate shows the cell of each literal of a notebook, and --json has it', () => {
    const nb = copy('fastai_pets.ipynb');
    const r = cli('locate', nb);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.deepStrictEqual(r.stdout.split('\n'), [
      'fastai_pets.ipynb: 5 learning-rate literals, recommended first',
      '  cell 6  2:24  learn.fit_one_cycle()  3e-3  (recommended)',
      '  cell 7  2:43  lr_max                 1e-4',
      '  cell 8  1:24  learn.fit_one_cycle()  1e-3',
      '  cell 3  2:28  base_lr                2e-3',
      '  cell 7  2:37  lr_max.start           1e-6',
      '',
    ]);
    const j = cli('locate', nb, '--json');
    assert.strictEqual(j.status, 0, j.stderr);
    assert.deepStrictEqual(JSON.parse(j.stdout)[1], { file: nb, cell: 7, line: 2, column: 43, key: 'lr_max', text: '1e-4', value: 1e-4 });
  });

  it('apply --cell --line --column rewrites either end of slice(1e-6, 1e-4); every other byte of the .ipynb is kept', () => {
    const nb = copy('fastai_pets.ipynb');
    const before = fs.readFileSync(path.join(dir, nb), 'utf8');
    const up = cli('apply', nb, '3e-4', '--cell', '7', '--line', '2');
    assert.strictEqual(up.status, 0, up.stderr);
    assert.strictEqual(up.stdout, 'fastai_pets.ipynb cell 7 2:43 lr_max: 1e-4 -> 3e-4\n');
    assert.match(up.stderr, /2 learning-rate literals on line 2 of cell 7 of fastai_pets\.ipynb; rewrote the recommended one \(column 43, lr_max\); others: cell 7 2:37 lr_max\.start; pick one with --column K/);
    const low = cli('apply', nb, '1e-5', '--cell', '7', '--line', '2', '--column', '37');
    assert.strictEqual(low.status, 0, low.stderr);
    assert.strictEqual(low.stdout, 'fastai_pets.ipynb cell 7 2:37 lr_max.start: 1e-6 -> 1e-5\n');
    assert.strictEqual(low.stderr, '');
    const after = fs.readFileSync(path.join(dir, nb), 'utf8');
    assert.strictEqual(after, before.replace('lr_max=slice(1e-6, 1e-4))', 'lr_max=slice(1e-5, 3e-4))'));
    assert.strictEqual(cli('apply', nb, '2e-3', '--cell=3').stdout, 'fastai_pets.ipynb cell 3 2:28 base_lr: 2e-3 -> 2e-3 (unchanged)\n');
  });

  it('apply refuses a notebook --line without --cell, --cell outside a notebook, --column without --line, and says where literals are', () => {
    const nb = copy('fastai_pets.ipynb');
    const py = copy('train_pytorch.py');
    const cases: Array<[string[], RegExp]> = [
      [[nb, '1e-3', '--line', '2'], /in a notebook --line needs --cell C/],
      [[py, '1e-3', '--cell', '1'], /--cell is for notebooks \(\.ipynb\); train_pytorch\.py has no cells/],
      [[py, '1e-3', '--column', '5'], /--column needs --line/],
      [[nb, '1e-3', '--cell', 'x'], /--cell is "x"; expected a cell index/],
      [[nb, '1e-3', '--cell', '2'], /no learning-rate literal in cell 2 of fastai_pets\.ipynb; there are some in cells 3, 6, 7, 8/],
      [[nb, '1e-3', '--cell', '7', '--line', '1'], /no learning-rate literal on line 1 of cell 7 of fastai_pets\.ipynb; there are some on lines 2$/m],
      [[nb, '1e-3', '--cell', '7', '--line', '2', '--column', '5'], /no learning-rate literal at column 5 of line 2 of cell 7 of fastai_pets\.ipynb; there are some at columns 37, 43/],
      [[py, '1e-3', '--line', '25', '--column', '0'], /--column is "0"; expected a column number/],
    ];
    const before = fs.readFileSync(path.join(dir, nb), 'utf8');
    for (const [args, message] of cases) {
      const r = cli('apply', ...args);
      assert.strictEqual(r.status, 2, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
      assert.strictEqual(r.stdout, '');
    }
    assert.strictEqual(fs.readFileSync(path.join(dir, nb), 'utf8'), before);
  });

  it('apply --column picks one of two literals on a line of a script', () => {
    const file = path.join(dir, 'train.py');
    const text = 'opt = SGD(model.parameters(), lr=0.1); sched = OneCycleLR(opt, max_lr=1.0, total_steps=100)\n';
    fs.writeFileSync(file, text);
    const r = cli('apply', 'train.py', '0.5', '--line', '1', '--column', '71');
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(r.stdout, 'train.py:1:71 max_lr: 1.0 -> 0.5\n');
    assert.strictEqual(fs.readFileSync(file, 'utf8'), text.replace('max_lr=1.0', 'max_lr=0.5'));
    const inside = cli('apply', 'train.py', '0.2', '--line', '1', '--column', '36'); // within "0.1", not at its start
    assert.strictEqual(inside.stdout, 'train.py:1:34 lr: 0.1 -> 0.2\n');
  });

  it('locates and rewrites TOML, INI-style and gin configs; an unknown kind names the supported ones', () => {
    for (const [name, value, out] of [
      ['torchtitan_llama3_debug.toml', '3e-4', 'torchtitan_llama3_debug.toml:33:6 optimizer.lr: 8e-4 -> 3e-4\n'],
      ['darknet_yolov3.cfg', '0.00261', 'darknet_yolov3.cfg:18:15 net.learning_rate: 0.001 -> 0.00261\n'],
      ['lightgbm_train.conf', '0.05', 'lightgbm_train.conf:46:17 learning_rate: 0.1 -> 0.05\n'],
      ['dopamine_rainbow.gin', '1.25e-4', 'dopamine_rainbow.gin:28:34 create_optimizer.learning_rate: 6.25e-5 -> 1.25e-4\n'],
    ]) {
      copy(name);
      assert.strictEqual(cli('locate', name).status, 0, name);
      const r = cli('apply', name, value);
      assert.strictEqual(r.stdout, out, r.stderr);
    }
    fs.writeFileSync(path.join(dir, 'x.txt'), 'lr = 0.1\n');
    const bad = cli('locate', 'x.txt');
    assert.strictEqual(bad.status, 2);
    assert.match(bad.stderr, /unsupported file type "\.txt" \(supported: .*\.ipynb.*\.toml, \.ini\/\.cfg\/\.conf, \.gin/);
  });
});
