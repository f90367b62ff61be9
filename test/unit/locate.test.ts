import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  applyLearningRate, formatLikeOriginal, languageOf, learningRateKeyScore, locateLearningRates, relocate, type LrLiteral,
} from '../../src/core/locate';
import { applyCommand, locateCommand } from '../../src/cli/locate';

// Compiled to out/test/unit; the fixtures stay in the source tree.
const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'locate');
const fixture = (name: string): string => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

type Row = [line: number, column: number, key: string, text: string, value: number];
const rows = (list: LrLiteral[]): Row[] => list.map((c) => [c.line, c.column, c.key, c.text, c.value]);
const locate = (name: string, text: string): Row[] => rows(locateLearningRates(name, text));

/** Replace the one and only occurrence of `from` (asserting it is unique). */
function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  assert.ok(at >= 0, `"${from}" not found`);
  assert.strictEqual(text.indexOf(from, at + 1), -1, `"${from}" is not unique`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

describe('locate: key names', () => {
  it('accepts the learning rate under its usual names', () => {
    for (const k of ['lr', 'LR', 'learning_rate', 'learningRate', 'LEARNING_RATE', 'learning-rate', '--lr', '--learning-rate',
      'learningrate', 'lrate', 'self.lr', 'cfg.optimizer.learning_rate']) {
      assert.strictEqual(learningRateKeyScore(k), 100, k);
    }
    assert.strictEqual(learningRateKeyScore('lr0'), 95);
    for (const k of ['max_lr', 'maxLr', 'peak_lr', 'max_learning_rate']) assert.strictEqual(learningRateKeyScore(k), 90, k);
    for (const k of ['base_lr', 'BASE_LR', 'init_lr', 'initial_learning_rate', 'initialLearningRate', 'learning_rate_init', 'default_lr']) {
      assert.strictEqual(learningRateKeyScore(k), 85, k);
    }
    for (const k of ['actor_lr', 'lr_backbone', 'generatorLr']) assert.strictEqual(learningRateKeyScore(k), 70, k);
  });

  it('rejects min/final/decay/warmup/scheduler/multiplier names and non-LR names', () => {
    for (const k of ['min_lr', 'lr_min', 'minLr', 'final_lr', 'end_lr', 'start_lr', 'startLr', 'endLr', 'lr_decay', 'lr_decay_rate',
      'weight_decay', 'warmup_lr', 'warmup_max_lr', 'warmup_min_lr', 'lr_scheduler', 'lrScheduler', 'lr_sched', 'lr_step',
      'lr_steps', 'lr_gamma', 'gamma', 'lr_mult', 'lr_ratio', 'warmup_ratio', 'lr_policy', 'lr_factor', 'eta_min', 'lrf',
      'lrs', 'auto_lr_find', 'lr_finder', 'current_lr', 'new_lr', 'momentum', 'layer', 'clr', 'lrTarget', 'learning']) {
      assert.strictEqual(learningRateKeyScore(k), undefined, k);
    }
  });

  it('knows the languages by extension', () => {
    assert.strictEqual(languageOf('a/b/config.YML'), 'yaml');
    assert.strictEqual(languageOf('c.yaml'), 'yaml');
    assert.strictEqual(languageOf('c.jsonc'), 'json');
    assert.strictEqual(languageOf('train.py'), 'python');
    assert.strictEqual(languageOf('x.mts'), 'js');
    assert.strictEqual(languageOf('x.tsx'), 'js');
    assert.strictEqual(languageOf('notes.txt'), undefined);
    assert.strictEqual(languageOf('Makefile'), undefined);
    assert.deepStrictEqual(locateLearningRates('notes.txt', 'lr = 0.1\n'), []);
  });
});

describe('locate: Python', () => {
  it('finds the optimizer lr and the argparse default in a PyTorch script, never comments, docstrings or help strings', () => {
    const text = fixture('train_pytorch.py');
    const list = locateLearningRates('train_pytorch.py', text);
    assert.deepStrictEqual(rows(list), [
      [25, 58, 'lr', '3e-4', 3e-4],
      [16, 53, '--lr', '0.1', 0.1],
    ]);
    const [best] = list;
    assert.strictEqual(best.kind, 'python');
    assert.strictEqual(best.context, 'optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)');
    assert.strictEqual(text.slice(best.offset, best.offset + best.length), '3e-4');
    assert.ok(best.score > list[1].score);
  });

  it('finds the Keras optimizer before a module constant; min_lr is never a candidate', () => {
    assert.deepStrictEqual(locate('train_keras.py', fixture('train_keras.py')), [
      [12, 54, 'learning_rate', '1e-3', 1e-3],
      [3, 17, 'LEARNING_RATE', '1e-3', 1e-3],
    ]);
  });

  it('finds assignments, annotations, keyword arguments, dicts, argparse/dataclass defaults and positional optimizer LRs', () => {
    const src = [
      'class Trainer:',                                                                     // 1
      '    def __init__(self, model, learning_rate: float = 1E-3, min_lr=1e-6):',            // 2
      '        self.lr = 0.001',                                                             // 3
      '        self.lr_decay = 0.95',                                                        // 4
      '        self.final_lr = 1e-5',                                                        // 5
      '    def sgd(self):',                                                                  // 6
      '        return torch.optim.SGD(self.model.parameters(), 0.1, momentum=0.9)',           // 7
      'opt = tf.keras.optimizers.Adam(1e-3)',                                                // 8
      "parser.add_argument('-l', '--learning-rate', type=float, default=.01)",               // 9
      'd = {"lr": 3e-4, "min_lr": 1e-6, lr: 0.5}',                                           // 10
      'e = dict(lr=1_000e-6, warmup_lr=1e-5)',                                               // 11
      'lr: float = 3e-4',                                                                    // 12
      '    learning_rate: float = field(default=5e-5, metadata={"help": "LR for AdamW."})',  // 13
      '    lr: Optional[float] = Field(1e-3, gt=0)',                                         // 14
      "optimizer = dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001)",           // 15
      "lr_config = dict(policy='step', warmup_ratio=0.001)",                                 // 16
      'sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=100)',     // 17
      'cfg["lr"] = 0.1',                                                                     // 18
      "param_group['lr'] = 1e-4",                                                            // 19
      'def train(lr=0.01, epochs=10): pass',                                                 // 20
      "config = {'optimizer': {'lr': 5e-4}}",                                                // 21
      '',
    ].join('\n');
    assert.deepStrictEqual(locate('t.py', src), [
      [15, 33, 'lr', '0.02', 0.02],
      [21, 31, 'lr', '5e-4', 5e-4],
      [7, 57, 'torch.optim.SGD()', '0.1', 0.1],
      [8, 32, 'tf.keras.optimizers.Adam()', '1e-3', 1e-3],
      [3, 19, 'self.lr', '0.001', 0.001],
      [9, 66, '--learning-rate', '.01', 0.01],
      [10, 12, 'lr', '3e-4', 3e-4],
      [11, 13, 'lr', '1_000e-6', 0.001],
      [12, 13, 'lr', '3e-4', 3e-4],
      [13, 42, 'learning_rate', '5e-5', 5e-5],
      [14, 33, 'lr', '1e-3', 1e-3],
      [18, 13, 'lr', '0.1', 0.1],
      [19, 21, 'lr', '1e-4', 1e-4],
      [2, 54, 'learning_rate', '1E-3', 1e-3], // a signature's default: what a call overrides
      [17, 57, 'max_lr', '0.01', 0.01],
      [20, 14, 'lr', '0.01', 0.01],
    ]);
  });

  it('takes the first long option as the key; a dest or any alias may make it an LR', () => {
    const src = [
      "p.add_argument('--base', dest='lr', type=float, default=2e-3)",
      "p.add_argument('--lr-decay', default=0.1)",
      "parser.add_argument('--lr', '--learning-rate', default=0.1, type=float,",
      "                    metavar='LR', help='initial learning rate')",
      "parser.add_argument('--weight-decay', '--wd', default=1e-4, type=float)",
      "parser.add_argument('-l', '--step-size', '--learning-rate', default=0.5)",
      '',
    ].join('\n');
    assert.deepStrictEqual(locate('a.py', src), [
      [1, 57, '--base', '2e-3', 2e-3],
      [3, 56, '--lr', '0.1', 0.1],
      [6, 69, '--step-size', '0.5', 0.5],
    ]);
  });

  it('takes the first number of a product: with constants, the product is the value and apply keeps it so', () => {
    const src = [
      "optimizer = dict(type='AdamW', lr=5e-4 * 1024 / 512)",     // 1
      'config.lr = (0.1 / 256) * config.input.batch_size',        // 2
      'lr = 1e-3 * world_size',                                    // 3
      '',
    ].join('\n');
    const list = locateLearningRates('p.py', src);
    assert.deepStrictEqual(list.map((c) => [c.line, c.column, c.key, c.text, c.value, c.factor, c.product]), [
      [1, 35, 'lr', '5e-4', 1e-3, 2, undefined],
      [2, 14, 'config.lr', '0.1', 0.1, undefined, true],
      [3, 6, 'lr', '1e-3', 1e-3, undefined, true],
    ]);
    const edit = applyLearningRate(src, list[0], 3e-3);
    assert.strictEqual(edit.text.split('\n')[0], "optimizer = dict(type='AdamW', lr=1.5e-3 * 1024 / 512)");
    assert.strictEqual(applyLearningRate(src, list[1], 0.2).text.split('\n')[1], 'config.lr = (0.2 / 256) * config.input.batch_size');
  });

  it('reads what practitioners write besides lr =: tuples, step_size, hand-written SGD, eta, schedules, help texts, their own functions', () => {
    const src = [
      'lr, num_epochs = 0.01, 5',                                                    // 1
      'latent_dim, lr, epochs = 100, 0.005, 20',                                      // 2
      'step_size = 0.001',                                                            // 3
      'scheduler = StepLR(opt, step_size=30, gamma=0.1)',                            // 4
      'p.data.add_(-0.1 * p.grad)',                                                  // 5
      'param = {"max_depth": 2, "eta": 1, "objective": "binary:logistic"}',          // 6
      'sched = tf.keras.optimizers.schedules.InverseTimeDecay(0.001, decay_steps=10)', // 7
      "parser.add_argument('--blr', type=float, default=1e-3, metavar='LR', help='base lr')", // 8
      "parser.add_argument('--wd', type=float, default=0.05, help='weight decay of the learning rate')", // 9
      'def train_fine_tuning(net, learning_rate, batch_size=128):', '    pass',     // 10, 11
      'train_fine_tuning(finetune_net, 5e-5)',                                        // 12
      'args = TrainingArguments("out", learning_rate=2e-5)',                          // 13
      'a, lr = 1, 0.1',                                                               // 14
      '',
    ].join('\n');
    assert.deepStrictEqual(locate('m.py', src), [
      [13, 47, 'learning_rate', '2e-5', 2e-5], // TrainingArguments configures the optimizer
      [1, 18, 'lr', '0.01', 0.01],
      [2, 31, 'lr', '0.005', 0.005],
      [14, 12, 'lr', '0.1', 0.1],
      [12, 33, 'train_fine_tuning(learning_rate)', '5e-5', 5e-5],
      [7, 56, 'tf.keras.optimizers.schedules.InverseTimeDecay()', '0.001', 0.001],
      [8, 50, '--blr', '1e-3', 1e-3],
      [6, 33, 'eta', '1', 1], // 85, less 15 for an LR of 1 or more
      [3, 13, 'step_size', '0.001', 0.001],
      [5, 14, 'p.grad step', '0.1', 0.1],
    ]);
  });

  it("ranks the fit after an lr_find() above the others, and an LR of 1 or more below them", () => {
    const src = [
      'learn = Learner(dls, model, lr=1e-2)', 'learn.fit_one_cycle(1, 3e-3)', 'learn.lr_find()', 'learn.fit_one_cycle(5, 1e-3)',
      'learn.fit_one_cycle(2, 1e-4)', 'cfg = dict(lr=1)', '',
    ].join('\n');
    assert.deepStrictEqual(locate('f.py', src).map((r) => r.slice(0, 4)), [
      [4, 24, 'learn.fit_one_cycle()', '1e-3'], [1, 32, 'lr', '1e-2'], [2, 24, 'learn.fit_one_cycle()', '3e-3'],
      [5, 24, 'learn.fit_one_cycle()', '1e-4'], [6, 15, 'lr', '1'],
    ]);
  });

  it('never takes expressions, negatives, zero, hex, complex, comparisons or augmented assignments', () => {
    const src = [
      'x = f(lr=-0.1)', 'lr = world_size * 1e-3', 'lr = 0.1 + 1e-3', 'lr = 0.5 * (1 + cos)', 'lr = 0.1 if big else 0.01', 'ok = lr == 0.1', 'lr *= 0.1',
      'lr = 0x10', 'lr = 1j', 'lr = 0', 'lr = 0.0', 'lr = (0.5)', 'f = lambda lr=0.3: lr', 'lr = args.lr or 0.1',
      'lr = [0.1, 0.01]', 'for lr in (0.1, 0.01): pass', 'if lr > 0.1: pass', 'lr = -1e-3', 'lrs = {0.1: "a", lr: 0.2}',
      'x[lr:0.5]', 'scheduler = StepLR(opt, step_size=30, gamma=0.1)', '',
    ].join('\n');
    assert.deepStrictEqual(locate('x.py', src), []);
  });

  it('skips numbers in comments, strings, bytes, raw strings, f-strings (3.12 nesting) and docstrings', () => {
    const src = [
      '"""Docstring: lr = 0.1"""',
      "# lr = 0.2",
      's = f"{d["lr"]} {x:{w}} lr=0.3" + rb\'lr=0.31\' + \'it\\\'s lr=0.32\' + R"lr=0.33\\"" + Br"lr = 0.34"',
      "t = f'''",
      "lr = 0.35 {x!r:>{width}} {'{'} lr=0.36",
      "'''",
      'u = f"{ {"lr": 0.37}["lr"] } lr = 0.38"',
      "v = 'unterminated lr=0.39",
      'lr = 0.7  # lr = 0.8',
      "w = '''lr = 0.4",
      "lr = 0.41'''",
      'lr = 0.9',
      '',
    ].join('\n');
    assert.deepStrictEqual(locate('s.py', src), [
      [9, 6, 'lr', '0.7', 0.7],
      [12, 6, 'lr', '0.9', 0.9],
    ]);
  });

  it('reads a CRLF file with a BOM: lines and columns as an editor shows them', () => {
    const text = fixture('crlf_bom.py');
    assert.ok(text.startsWith('\uFEFF') && text.includes('\r\n'), 'the fixture must keep its BOM and CRLF line endings');
    const list = locateLearningRates('crlf_bom.py', text);
    assert.deepStrictEqual(rows(list), [
      [6, 46, 'lr', '0.1', 0.1],
      [4, 6, 'lr', '1e-3', 1e-3],
    ]);
    assert.strictEqual(list[1].context, 'lr = 1e-3');
    assert.deepStrictEqual(locate('b.py', '\uFEFFlr = 0.1\r\nx = 1\rlr = 0.2\n'), [[1, 6, 'lr', '0.1', 0.1], [3, 6, 'lr', '0.2', 0.2]]);
  });
});

describe('locate: YAML', () => {
  it('finds optimizer.lr first in an mmdetection-style config, with base_lr after it; comments, strings and folded text are not candidates', () => {
    const list = locateLearningRates('mmdet_faster_rcnn.yaml', fixture('mmdet_faster_rcnn.yaml'));
    assert.deepStrictEqual(rows(list), [
      [10, 28, 'optimizer.lr', '0.02', 0.02],
      [4, 12, '_base_.base_lr', '0.02', 0.02],
    ]);
    assert.strictEqual(list[0].kind, 'yaml');
    assert.strictEqual(list[0].context, 'optimizer: {type: SGD, lr: 0.02, momentum: 0.9, weight_decay: 0.0001}');
  });

  it('reads a LightningCLI config with anchors and aliases', () => {
    assert.deepStrictEqual(locate('lightning.yml', fixture('lightning.yml')), [
      [12, 9, 'optimizer.init_args.lr', '1e-05', 1e-5],
      [8, 18, 'model.learning_rate', '3.0E-4', 3e-4],
      [20, 26, 'defaults.lr', '.001', 0.001],
      [17, 19, 'lr_scheduler.init_args.max_lr', '0.01', 0.01],
    ]);
  });

  it('walks nested maps and sequences; a map that names an optimizer counts as one', () => {
    const src = [
      'model:',
      '  optim:',
      '    param_groups:',
      '      - {params: backbone, lr: 1e-4}',
      '      - params: head',
      '        lr: 1e-3',
      'SOLVER:',
      '  BASE_LR: 0.02',
      'hydra_opt:',
      '  _target_: torch.optim.Adam',
      '  lr: 3e-4',
      'trainer: {learning_rate: 5e-5}',
      'hf_args: {optim: adamw_torch, learning_rate: 2e-5}',
      '',
    ].join('\n');
    const list = locateLearningRates('c.yaml', src);
    assert.deepStrictEqual(rows(list), [
      [4, 32, 'model.optim.param_groups[0].lr', '1e-4', 1e-4],
      [6, 13, 'model.optim.param_groups[1].lr', '1e-3', 1e-3],
      [11, 7, 'hydra_opt.lr', '3e-4', 3e-4],
      [13, 46, 'hf_args.learning_rate', '2e-5', 2e-5],
      [8, 12, 'SOLVER.BASE_LR', '0.02', 0.02],
      [12, 26, 'trainer.learning_rate', '5e-5', 5e-5],
    ]);
    assert.deepStrictEqual(list.map((c) => c.score), [120, 120, 120, 120, 105, 100]);
  });

  it("reads LR Finder's own config: optimizer.learningRate, not the sweep range", () => {
    const src = [
      '# Run "Find Learning Rate" on this file',
      'loss: categoricalCrossentropy',
      'optimizer:',
      '  name: adam',
      '  learningRate: 0.001',
      'sweep:',
      '  startLr: 1.0e-5',
      '  endLr: 10',
      '  numIter: 100',
      '',
    ].join('\n');
    assert.deepStrictEqual(locate('lr-finder.yaml', src), [[5, 17, 'optimizer.learningRate', '0.001', 0.001]]);
  });

  it('ignores quoted strings, sequences, zero, negatives, special floats, tagged strings and aliases; reads every document', () => {
    const src = [
      'lr: "1e-3"', "learning_rate: '0.1'", 'max_lr: [0.1, 0.01]', 'base_lr: 0', 'init_lr: -0.1', 'peak_lr: .inf',
      'lr0: !!str 0.5', 'a: &x 0.3', 'LR: *x', 'actor_lr: 0x10', '---', 'lr: 0.2', '...', '---', '# lr: 0.4', 'lr: 4e-1 # lr: 0.6', '',
    ].join('\n');
    assert.deepStrictEqual(locate('m.yaml', src), [[12, 5, 'lr', '0.2', 0.2], [16, 5, 'lr', '4e-1', 0.4]]);
  });

  it('keeps positions exact with CRLF and a BOM', () => {
    const src = '\uFEFF# config\r\noptimizer:\r\n  type: SGD\r\n  lr: 0.01\r\n';
    const [c] = locateLearningRates('crlf.yaml', src);
    assert.deepStrictEqual([c.line, c.column, c.key, c.text, c.offset], [4, 7, 'optimizer.lr', '0.01', src.indexOf('0.01')]);
    assert.deepStrictEqual(locate('bom.yaml', '\uFEFFlr: 0.1\n'), [[1, 5, 'lr', '0.1', 0.1]]);
  });
});

describe('locate: JSON', () => {
  it('reads a DeepSpeed-style JSONC config with comments and a trailing comma', () => {
    const list = locateLearningRates('deepspeed.jsonc', fixture('deepspeed.jsonc'));
    assert.deepStrictEqual(rows(list), [
      [7, 13, 'optimizer.params.lr', '3e-5', 3e-5],
      [19, 20, 'learning_rate', '1E-4', 1e-4],
    ]);
    assert.strictEqual(list[0].kind, 'json');
    assert.strictEqual(list[0].context, '"lr": 3e-5, /* LR Finder writes here */');
  });

  it('reads plain JSON with a BOM; negatives, zero, strings and arrays are not candidates', () => {
    const src = '\uFEFF{"lr": 0.1, "min_lr": 1e-6, "nested": {"optimizer": {"learningRate": 1e-3}}, "max_lr": -1, "base_lr": 0,\n'
      + ' "init_lr": "0.1", "peak_lr": [0.1], "groups": [{"lr": 2e-3}]}';
    assert.deepStrictEqual(locate('c.json', src), [
      [1, 70, 'nested.optimizer.learningRate', '1e-3', 1e-3],
      [1, 8, 'lr', '0.1', 0.1],
      [2, 56, 'groups[0].lr', '2e-3', 2e-3],
      [2, 32, 'peak_lr[0]', '0.1', 0.1], // a list of one LR (fairseq's lr: [0.0005])
    ]);
  });
});

describe('locate: JavaScript / TypeScript', () => {
  it('finds tf.train.adam(0.001) and learningRate: 0.01, never comments, strings, templates or regexes', () => {
    const list = locateLearningRates('tfjs_train.mts', fixture('tfjs_train.mts'));
    assert.deepStrictEqual(rows(list), [
      [18, 44, 'tf.train.adam()', '0.001', 0.001],
      [11, 17, 'learningRate', '0.01', 0.01],
    ]);
    assert.strictEqual(list[0].kind, 'js');
  });

  it('finds declarations, class fields, defaults, object properties and quoted keys', () => {
    const src = [
      'const a = tf.train.sgd(0.1);',                                          // 1
      'let lr: number = 0.01;',                                                // 2
      'this.learningRate = 0.02;',                                             // 3
      'const c = { "learning_rate": 1e-3, lr: x ? 0.5 : 0.6 };',               // 4
      'class M { learningRate: number = 0.04; private readonly lr = 5e-3 }',  // 5
      'function f(lr = 0.006) {}',                                             // 6
      'const cfg = { optimizer: { learningRate: 0.007 } }',                    // 7
      'lr = 0.008',                                                            // 8
      'foo()',                                                                 // 9
      'const m = tf.train.momentum(0.05, 0.9);',                               // 10
      '',
    ].join('\n');
    assert.deepStrictEqual(locate('b.ts', src), [
      [7, 42, 'learningRate', '0.007', 0.007],
      [1, 24, 'tf.train.sgd()', '0.1', 0.1],
      [10, 29, 'tf.train.momentum()', '0.05', 0.05],
      [2, 18, 'lr', '0.01', 0.01],
      [3, 21, 'this.learningRate', '0.02', 0.02],
      [4, 30, 'learning_rate', '1e-3', 1e-3],
      [5, 34, 'learningRate', '0.04', 0.04],
      [5, 62, 'lr', '5e-3', 5e-3],
      [8, 6, 'lr', '0.008', 0.008],
      [6, 17, 'lr', '0.006', 0.006], // a signature's default
    ]);
  });

  it("reads argparse.js options: parser.addArgument('--learningRate', {defaultValue: 1e-2})", () => {
    const src = "parser.addArgument('--learningRate', {\n  type: 'float',\n  defaultValue: 1e-2,\n  help: 'Learning rate',\n});\n"
      + "parser.addArgument('--beta1', {type: 'float', defaultValue: 0.5, help: 'Adam beta1: the learning rate of the mean'});\n"
      + "parser.addArgument('--gLr', {type: 'float', defaultValue: 2e-4, help: 'The learning rate of the generator.'});\n";
    assert.deepStrictEqual(locate('train.js', src), [[3, 17, '--learningRate', '1e-2', 1e-2], [7, 59, '--gLr', '2e-4', 2e-4]]);
  });

  it('never takes ternaries, expressions, BigInts, hex, template expressions or regex contents', () => {
    const src = [
      'const d = flag ? lr : 0.7;', 'lr = 0.01 + 2;', 'const t = `${ {lr: 0.8}.lr } lr = 0.9`;', 'const r = x / 2 / lr; const q = /lr = 0.3/;',
      'const b = { lr: 1n, learningRate: 0x1 };', 'lr == 0.1', 'lr += 0.1', "const s = 'lr = 0.2', u = \"learningRate: 0.3\";",
      '// lr = 0.4', '/* learningRate: 0.5 */', "parser.addArgument('--epochs', {type: 'int', defaultValue: 0.5, help: 'Epochs.'});", 'const w = { minLearningRate: 1e-5, lrDecay: 0.9, learningRate: -0.1 };', '',
    ].join('\n');
    assert.deepStrictEqual(locate('n.js', src), []);
  });
});

describe('formatLikeOriginal', () => {
  const cases: Array<[string, number, string]> = [
    ['1e-3', 3e-4, '3e-4'],
    ['1E-3', 3e-4, '3E-4'],
    ['3.0e-4', 1e-3, '1.0e-3'],
    ['3.0e-4', 2.5e-4, '2.5e-4'],
    ['3.0E-4', 1e-2, '1.0E-2'],
    ['1.00e-3', 3e-4, '3.00e-4'],
    ['1e-05', 3e-4, '3e-04'],
    ['1e-05', 1e-10, '1e-10'],
    ['1e+2', 300, '3e+2'],
    ['1e-3', 1.2e-4, '1.2e-4'],
    ['1e-3', 1, '1e0'],
    ['5e-1', 0.3, '3e-1'],
    ['1_000e-6', 3e-4, '3e-4'],
    ['0.001', 3e-4, '0.0003'],
    ['0.001', 3 * 1e-4, '0.0003'],
    ['0.1', 0.1 * 3, '0.3'],
    ['0.001', 0.00012, '0.00012'],
    ['0.001', 1e-9, '0.000000001'],
    ['0.001', 1e-10, '1.0e-10'],
    ['0.001', 2.5e-12, '2.5e-12'],
    ['.001', 3e-4, '.0003'],
    ['.001', 2, '2.0'],
    ['0.1', 1, '1.0'],
    ['0.1', 0.05, '0.05'],
    ['0.1', 12.5, '12.5'],
    ['1.', 2, '2.'],
    ['1.', 0.5, '0.5'],
    ['1', 3e-4, '0.0003'],
    ['1', 2, '2'],
    ['10', 0.5, '0.5'],
    ['1', 1e-12, '1.0e-12'],
    ['0.000_1', 3e-4, '0.0003'],
  ];
  for (const [original, value, expected] of cases) {
    it(`${original} with ${value} -> ${expected}`, () => assert.strictEqual(formatLikeOriginal(original, value), expected));
  }

  it('keeps the value exact (round trip)', () => {
    for (const original of ['1e-3', '3.0e-4', '1e-05', '0.001', '.001', '1', '1E-3']) {
      for (const v of [3e-4, 1.5e-3, 0.0123, 7e-7, 0.25, 3.16e-5]) assert.strictEqual(Number(formatLikeOriginal(original, v)), v, `${original} ${v}`);
    }
  });

  it('refuses values that are not positive finite numbers', () => {
    for (const v of [0, -1e-3, NaN, Infinity, -Infinity]) assert.throws(() => formatLikeOriginal('1e-3', v), RangeError);
  });
});

describe('applyLearningRate', () => {
  it('changes only the literal in a PyTorch script', () => {
    const text = fixture('train_pytorch.py');
    const [best] = locateLearningRates('train_pytorch.py', text);
    const edit = applyLearningRate(text, best, 1e-3);
    assert.strictEqual(edit.text, replaceOnce(text, 'lr=3e-4, weight_decay', 'lr=1e-3, weight_decay'));
    assert.deepStrictEqual([edit.replacement, edit.offset, edit.length], ['1e-3', best.offset, 4]);
  });

  it('keeps a BOM and CRLF line endings byte for byte', () => {
    const text = fixture('crlf_bom.py');
    const lit = locateLearningRates('crlf_bom.py', text).find((c) => c.line === 4)!;
    const edit = applyLearningRate(text, lit, 3e-4);
    assert.strictEqual(edit.text, replaceOnce(text, 'lr = 1e-3\r\n', 'lr = 3e-4\r\n'));
    assert.ok(edit.text.startsWith('\uFEFF# CRLF'));
    assert.strictEqual(edit.text.split('\r\n').length, text.split('\r\n').length);
    assert.strictEqual(Buffer.from(edit.text, 'utf8').length, Buffer.from(text, 'utf8').length);
  });

  it('rewrites YAML, JSONC and TypeScript literals in their own style', () => {
    const yaml = fixture('mmdet_faster_rcnn.yaml');
    assert.strictEqual(applyLearningRate(yaml, locateLearningRates('m.yaml', yaml)[0], 0.01).text,
      replaceOnce(yaml, '{type: SGD, lr: 0.02,', '{type: SGD, lr: 0.01,'));
    const lightning = fixture('lightning.yml');
    assert.strictEqual(applyLearningRate(lightning, locateLearningRates('l.yml', lightning)[0], 3e-4).text,
      replaceOnce(lightning, 'lr: 1e-05', 'lr: 3e-04'));
    const jsonc = fixture('deepspeed.jsonc');
    assert.strictEqual(applyLearningRate(jsonc, locateLearningRates('d.jsonc', jsonc)[0], 1e-4).text,
      replaceOnce(jsonc, '"lr": 3e-5,', '"lr": 1e-4,'));
    const ts = fixture('tfjs_train.mts');
    assert.strictEqual(applyLearningRate(ts, locateLearningRates('t.mts', ts)[0], 3e-4).text,
      replaceOnce(ts, 'tf.train.adam(0.001)', 'tf.train.adam(0.0003)'));
    const crlf = 'optimizer:\r\n  type: SGD\r\n  lr: 0.01\r\n';
    assert.strictEqual(applyLearningRate(crlf, locateLearningRates('c.yaml', crlf)[0], 0.0032).text, 'optimizer:\r\n  type: SGD\r\n  lr: 0.0032\r\n');
  });

  it('refuses a stale literal and a bad value', () => {
    const text = 'lr = 0.1\n';
    const [lit] = locateLearningRates('a.py', text);
    assert.throws(() => applyLearningRate('lr = 0.2\n', lit, 1e-3), /file changed/);
    assert.throws(() => applyLearningRate(text, lit, -1), RangeError);
    assert.throws(() => applyLearningRate(text, lit, NaN), RangeError);
  });
});

describe('relocate', () => {
  it('finds the literal again after lines were inserted above', () => {
    const text = fixture('train_pytorch.py');
    const [best] = locateLearningRates('train_pytorch.py', text);
    const changed = '# added\n# by\n# someone\n' + text;
    const again = relocate('train_pytorch.py', changed, best)!;
    assert.deepStrictEqual([again.line, again.column, again.key, again.text], [best.line + 3, best.column, 'lr', '3e-4']);
    assert.strictEqual(again.offset, best.offset + '# added\n# by\n# someone\n'.length);
  });

  it('prefers the identical source line over a nearer literal with the same key', () => {
    const text = 'a = Adam(lr=0.1)\n\n\nb = SGD(lr=0.5)\n';
    const second = locateLearningRates('x.py', text).find((c) => c.line === 4)!;
    // Six lines inserted between: line 1 is now 3 lines from the old line 4, the real one 6.
    const changed = 'a = Adam(lr=0.1)\n\n\n' + '#\n'.repeat(6) + 'b = SGD(lr=0.5)\n';
    const again = relocate('x.py', changed, second)!;
    assert.deepStrictEqual([again.line, again.context], [10, 'b = SGD(lr=0.5)']);
  });

  it('falls back to the nearest line with the same key when the line changed; undefined when it is gone', () => {
    const text = 'x = 1\nlr = 0.1\n';
    const [lit] = locateLearningRates('x.py', text);
    const again = relocate('x.py', 'x = 1\n\nlr = 0.03  # from the finder\n', lit)!;
    assert.deepStrictEqual([again.line, again.text], [3, '0.03']);
    assert.strictEqual(relocate('x.py', 'x = 1\n', lit), undefined);
  });
});

describe('CLI: lr-finder locate / apply', () => {
  let dir: string;
  let outLines: string[];
  let errLines: string[];
  const out = (s: string): void => { outLines.push(s); };
  const err = (s: string): void => { errLines.push(s); };
  const copy = (name: string, mode = 0o644): string => {
    const p = path.join(dir, name);
    fs.copyFileSync(path.join(FIXTURES, name), p);
    fs.chmodSync(p, mode);
    return p;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lr-locate-'));
    outLines = [];
    errLines = [];
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('locate prints a table, recommended first', async () => {
    const file = copy('train_pytorch.py');
    assert.strictEqual(await locateCommand([file], out, err), 0);
    assert.deepStrictEqual(outLines, [
      `${file}: 2 learning-rate literals, recommended first`,
      '  25:58  lr    3e-4  (recommended)',
      '  16:53  --lr  0.1',
    ]);
    assert.deepStrictEqual(errLines, []);
  });

  it('locate --json prints the literals as JSON', async () => {
    const file = copy('deepspeed.jsonc');
    assert.strictEqual(await locateCommand(['--json', file], out, err), 0);
    assert.deepStrictEqual(JSON.parse(outLines.join('\n')), [
      { file, line: 7, column: 13, key: 'optimizer.params.lr', text: '3e-5', value: 3e-5 },
      { file, line: 19, column: 20, key: 'learning_rate', text: '1E-4', value: 1e-4 },
    ]);
  });

  it('locate exits 1 when nothing is found, 2 for usage errors and unreadable or unsupported files', async () => {
    const none = path.join(dir, 'none.py');
    fs.writeFileSync(none, '# lr = 0.1\nprint("lr=0.2")\n');
    assert.strictEqual(await locateCommand([none], out, err), 1);
    assert.deepStrictEqual(outLines, []);
    assert.match(errLines.join('\n'), /no learning-rate literal found in .*none\.py/);
    outLines = [];
    assert.strictEqual(await locateCommand([none, '--json'], out, err), 1);
    assert.deepStrictEqual(JSON.parse(outLines.join('\n')), []);

    errLines = [];
    const missing = path.join(dir, 'missing.yaml');
    assert.strictEqual(await locateCommand([missing], out, err), 2);
    assert.deepStrictEqual(errLines, [`lr-finder locate: cannot read ${missing}: no such file`]);
    errLines = [];
    assert.strictEqual(await locateCommand([dir + '/notes.txt'], out, err), 2);
    assert.match(errLines[0], /notes\.txt: unsupported file type "\.txt"/);
    assert.strictEqual(await locateCommand([], out, err), 2);
    assert.strictEqual(await locateCommand([none, '--bogus'], out, err), 2);
    assert.match(errLines.join('\n'), /unknown option --bogus/);
  });

  it('apply rewrites the recommended literal atomically, keeping the mode and every other byte', async () => {
    const file = copy('train_pytorch.py', 0o751);
    const before = fs.readFileSync(file, 'utf8');
    assert.strictEqual(await applyCommand([file, '1e-3'], out, err), 0);
    assert.deepStrictEqual(outLines, [`${file}:25:58 lr: 3e-4 -> 1e-3`]);
    assert.match(errLines.join('\n'), /2 learning-rate literals .*rewrote the recommended one \(line 25, lr\).*16:53 --lr.*--line N/);
    assert.strictEqual(fs.readFileSync(file, 'utf8'), replaceOnce(before, 'lr=3e-4, weight_decay', 'lr=1e-3, weight_decay'));
    assert.strictEqual(fs.statSync(file).mode & 0o7777, 0o751);
    assert.deepStrictEqual(fs.readdirSync(dir), ['train_pytorch.py'], 'no temporary file left behind');
  });

  it('apply --line picks the literal on that line; a line without one names the lines that have one', async () => {
    const file = copy('train_pytorch.py');
    const before = fs.readFileSync(file, 'utf8');
    assert.strictEqual(await applyCommand([file, '0.05', '--line', '16'], out, err), 0);
    assert.deepStrictEqual(outLines, [`${file}:16:53 --lr: 0.1 -> 0.05`]);
    assert.deepStrictEqual(errLines, []);
    const after = replaceOnce(before, 'default=0.1, help', 'default=0.05, help');
    assert.strictEqual(fs.readFileSync(file, 'utf8'), after);

    assert.strictEqual(await applyCommand([file, '0.05', '--line=3'], out, err), 2);
    assert.deepStrictEqual(errLines, [`lr-finder apply: no learning-rate literal on line 3 of ${file}; there are some on lines 16, 25`]);
    for (const bad of ['0', '-2', 'x', '']) {
      errLines = [];
      assert.strictEqual(await applyCommand([file, '0.05', '--line', bad], out, err), 2, bad);
      assert.match(errLines[0], /--line is/);
    }
    assert.strictEqual(fs.readFileSync(file, 'utf8'), after);
  });

  it('apply refuses a bad LR, a missing file, non-UTF-8 text and a file without literals', async () => {
    const file = copy('train_keras.py');
    const before = fs.readFileSync(file, 'utf8');
    for (const bad of ['-1e-3', '0', 'abc', 'Infinity', '1e999', 'NaN', '0x10', '']) {
      errLines = [];
      assert.strictEqual(await applyCommand([file, bad], out, err), 2, bad);
      assert.match(errLines[0], /LR is ".*"; expected a positive finite number/);
    }
    assert.strictEqual(fs.readFileSync(file, 'utf8'), before);
    errLines = [];
    assert.strictEqual(await applyCommand([file], out, err), 2);
    assert.match(errLines[0], /missing LR/);
    const missing = path.join(dir, 'nope.py');
    errLines = [];
    assert.strictEqual(await applyCommand([missing, '1e-3'], out, err), 2);
    assert.deepStrictEqual(errLines, [`lr-finder apply: cannot read ${missing}: no such file`]);
    const latin1 = path.join(dir, 'latin1.py');
    fs.writeFileSync(latin1, new Uint8Array([0x23, 0x20, 0xe9, 0x0a, 0x6c, 0x72, 0x20, 0x3d, 0x20, 0x30, 0x2e, 0x31, 0x0a]));
    errLines = [];
    assert.strictEqual(await applyCommand([latin1, '1e-3'], out, err), 2);
    assert.match(errLines[0], /latin1\.py: not valid UTF-8/);
    const none = path.join(dir, 'none.yaml');
    fs.writeFileSync(none, 'epochs: 3\n');
    errLines = [];
    assert.strictEqual(await applyCommand([none, '1e-3'], out, err), 1);
    assert.match(errLines[0], /no learning-rate literal found in .*none\.yaml/);
    assert.deepStrictEqual(outLines, []);
  });

  it('apply refuses a read-only file and leaves it alone', async () => {
    const file = copy('train_keras.py', 0o444);
    const before = fs.readFileSync(file, 'utf8');
    assert.strictEqual(await applyCommand([file, '3e-4'], out, err), 2);
    assert.deepStrictEqual(errLines, [`lr-finder apply: cannot write ${file}: permission denied; nothing changed`]);
    assert.strictEqual(fs.readFileSync(file, 'utf8'), before);
    assert.deepStrictEqual(fs.readdirSync(dir), ['train_keras.py']);
  });

  it('apply keeps CRLF and BOM bytes, and writes through a symlink to the real file', async () => {
    const real = copy('crlf_bom.py');
    const link = path.join(dir, 'link.py');
    fs.symlinkSync(real, link);
    const before = fs.readFileSync(real);
    assert.strictEqual(await applyCommand([link, '0.0003', '--line', '4'], out, err), 0);
    assert.deepStrictEqual(outLines, [`${link}:4:6 lr: 1e-3 -> 3e-4`]);
    assert.ok(fs.lstatSync(link).isSymbolicLink());
    const expected = replaceOnce(before.toString('latin1'), 'lr = 1e-3\r\n', 'lr = 3e-4\r\n');
    assert.strictEqual(fs.readFileSync(real).toString('latin1'), expected);
  });
});
