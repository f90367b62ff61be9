/**
 * The LR literal wherever practitioners write it: TOML (torchtitan), INI-style configs (LightGBM, darknet, XGBoost), gin
 * (dopamine), absl/TF flags (BERT), rl-baselines3-zoo's schedule strings, fastai's fits. Each on a real-looking file.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { applyLearningRate, languageOf, locateLearningRates, relocate, type LrLiteral } from '../../src/core/locate';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'locate');
const fixture = (name: string): string => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

type Row = [line: number, column: number, key: string, text: string, value: number];
const rows = (list: LrLiteral[]): Row[] => list.map((c) => [c.line, c.column, c.key, c.text, c.value]);
const locate = (name: string, text: string): Row[] => rows(locateLearningRates(name, text));

function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  assert.ok(at >= 0, `"${from}" not found`);
  assert.strictEqual(text.indexOf(from, at + 1), -1, `"${from}" is not unique`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** Rewrite the recommended literal (or `pick`) and check that exactly `from` became `to`. */
function assertRewrite(name: string, text: string, value: number, from: string, to: string, pick = (l: LrLiteral[]) => l[0]): void {
  const edit = applyLearningRate(text, pick(locateLearningRates(name, text)), value);
  assert.strictEqual(edit.text, replaceOnce(text, from, to));
}

describe('locate: languages by extension (new kinds)', () => {
  it('reads .toml, .ini/.cfg/.conf, .gin and .ipynb', () => {
    assert.strictEqual(languageOf('torchtitan/train_configs/llama3_8b.toml'), 'toml');
    for (const f of ['setup.cfg', 'yolov3.cfg', 'train.conf', 'params.INI']) assert.strictEqual(languageOf(f), 'ini', f);
    assert.strictEqual(languageOf('dopamine/agents/rainbow/configs/rainbow.gin'), 'gin');
    assert.strictEqual(languageOf('lesson1.ipynb'), 'ipynb');
  });
});

describe('locate: TOML', () => {
  it('finds [optimizer] lr in a torchtitan config, not min_lr_factor, warmup or comments', () => {
    const text = fixture('torchtitan_llama3_debug.toml');
    const list = locateLearningRates('llama3_debug.toml', text);
    assert.deepStrictEqual(rows(list), [[33, 6, 'optimizer.lr', '8e-4', 8e-4]]);
    assert.strictEqual(list[0].kind, 'toml');
    assert.strictEqual(list[0].score, 120, 'inside [optimizer], which names AdamW');
    assertRewrite('t.toml', text, 3e-4, 'lr = 8e-4\n', 'lr = 3e-4\n');
  });

  it('reads dotted keys, quoted keys, inline tables, arrays of tables and nested arrays', () => {
    const src = [
      'optimizer = { name = "AdamW", lr = 3e-4, betas = [0.9, 0.95] }',   // 1
      'training.lr = 1e-3 # the LR',                                       // 2
      'model . "learning_rate" = 2e-5',                                    // 3
      '[scheduler]',                                                       // 4
      'warmup.lr = 1e-6',                                                  // 5
      'max_lr = 0.01',                                                     // 6
      '[[param_groups]]',                                                  // 7
      'lr = 1e-4',                                                         // 8
      '[[param_groups]]',                                                  // 9
      'lr = 1e-3',                                                         // 10
      'heads = [ { lr = 5e-4 },',                                          // 11
      '  { lr = 1_000e-6 } ]',                                             // 12
      '["lr finder"]',                                                     // 13
      'base_lr = 1e-7',                                                    // 14
      '',
    ].join('\n');
    assert.deepStrictEqual(locate('c.toml', src), [
      [1, 36, 'optimizer.lr', '3e-4', 3e-4],
      [2, 15, 'training.lr', '1e-3', 1e-3],
      [3, 27, 'model.learning_rate', '2e-5', 2e-5],
      [5, 13, 'scheduler.warmup.lr', '1e-6', 1e-6], // as in YAML: only the last key says what it is
      [8, 6, 'param_groups[0].lr', '1e-4', 1e-4],
      [10, 6, 'param_groups[1].lr', '1e-3', 1e-3],
      [11, 18, 'param_groups[1].heads[0].lr', '5e-4', 5e-4],
      [12, 10, 'param_groups[1].heads[1].lr', '1_000e-6', 1e-3],
      [6, 10, 'scheduler.max_lr', '0.01', 0.01],
      [14, 11, 'lr finder.base_lr', '1e-7', 1e-7],
    ]);
  });

  it('never takes strings (any of the four kinds), comments, signed numbers, inf, hex, dates or arrays', () => {
    const src = [
      's = """', 'lr = 0.1', '"""', "t = '''", 'lr = 0.2', "'''", 'lr0 = "0.3"', "lr1 = 'lr = 0.31'", '# lr = 0.4', 'max_lr = +1e-3',
      'base_lr = inf', 'init_lr = 0x10', 'peak_lr = 1979-05-27', 'actor_lr = 07:32:00', 'lr2 = [0.1, 0.2]', 'LR = -1e-3',
      'u = "a \\" lr = 0.5"', 'lr = 0', 'learning_rate = 5e-4 # learning_rate = 0.6', '',
    ].join('\n');
    assert.deepStrictEqual(locate('s.toml', src), [[19, 17, 'learning_rate', '5e-4', 5e-4]]);
  });

  it('keeps a BOM and CRLF and skips a line it cannot read', () => {
    const src = '\uFEFF[optimizer]\r\nlr = = 1\r\nlr = 2e-4\r\n[broken\r\nlr = 0.5\r\n';
    const list = locateLearningRates('c.toml', src);
    assert.deepStrictEqual(rows(list), [[3, 6, 'optimizer.lr', '2e-4', 2e-4]]);
    assert.strictEqual(applyLearningRate(src, list[0], 1e-3).text, src.replace('2e-4', '1e-3'));
  });
});

describe('locate: INI-style configs', () => {
  it('finds learning_rate in a LightGBM train.conf', () => {
    const text = fixture('lightgbm_train.conf');
    const list = locateLearningRates('train.conf', text);
    assert.deepStrictEqual(rows(list), [[46, 17, 'learning_rate', '0.1', 0.1]]);
    assert.strictEqual(list[0].kind, 'ini');
    assertRewrite('train.conf', text, 0.05, 'learning_rate = 0.1\n', 'learning_rate = 0.05\n');
  });

  it('finds [net] learning_rate in a darknet cfg, with repeated sections and commented-out keys', () => {
    const text = fixture('darknet_yolov3.cfg');
    assert.deepStrictEqual(locate('yolov3.cfg', text), [[18, 15, 'net.learning_rate', '0.001', 0.001]]);
    assertRewrite('yolov3.cfg', text, 0.00261, 'learning_rate=0.001\n', 'learning_rate=0.00261\n');
  });

  it("takes XGBoost's eta and LightGBM's shrinkage_rate, below an explicit learning_rate", () => {
    assert.deepStrictEqual(locate('mushroom.conf', fixture('xgboost_mushroom.conf')), [[9, 7, 'eta', '1.0', 1]]);
    assert.deepStrictEqual(locate('a.ini', 'eta = 0.3\nshrinkage_rate = 0.2\nlearning_rate = 0.1\neta_min = 0.1\n'), [
      [3, 17, 'learning_rate', '0.1', 0.1], [1, 7, 'eta', '0.3', 0.3], [2, 18, 'shrinkage_rate', '0.2', 0.2],
    ]);
  });

  it('reads `:` and `=` delimiters, inline comments after a space, quotes; never comments or multi-line values', () => {
    const src = [
      '; lr = 0.1',                 // 1
      '# lr = 0.2',                 // 2
      '[optimizer]',                // 3
      'type = adam',                // 4
      'lr: 3e-4',                   // 5
      'max_lr = 0.01   ; tuned',    // 6
      '[model]',                    // 7
      'lr = 0.3;x',                 // 8
      'base_lr = "0.4"',            // 9
      'init_lr =',                  // 10
      '    0.5',                    // 11
      'peak_lr = 0.6',              // 12
      '  continued',                // 13
      '  lr0 = 7e-4',               // 14
      '[schedule]',                 // 15
      'learning_rate = lin_1e-3',   // 16
      '',
    ].join('\n');
    assert.deepStrictEqual(locate('c.ini', src), [
      [5, 5, 'optimizer.lr', '3e-4', 3e-4],
      [6, 10, 'optimizer.max_lr', '0.01', 0.01],
      [16, 21, 'schedule.learning_rate', '1e-3', 1e-3],
    ]);
  });
});

describe('locate: gin', () => {
  it("finds trax's schedule values: multifactor.constant, lr_schedules.*.max_value; not a schedule's other numbers", () => {
    const src = [
      'multifactor.constant = 3e-5', "multifactor.factors = 'constant * linear_warmup'", 'multifactor.warmup_steps = 1000',
      'lr_schedules.warmup_and_rsqrt_decay.max_value = 0.01', 'lr_schedules.warmup_and_rsqrt_decay.n_warmup_steps = 1000',
      'model.dropout = 0.1', '',
    ].join('\n');
    assert.deepStrictEqual(locate('bert.gin', src), [
      [1, 24, 'multifactor.constant', '3e-5', 3e-5], [4, 49, 'lr_schedules.warmup_and_rsqrt_decay.max_value', '0.01', 0.01],
    ]);
  });

  it("finds create_optimizer.learning_rate in dopamine's JAX Rainbow config, never the commented one", () => {
    const text = fixture('dopamine_rainbow.gin');
    const list = locateLearningRates('rainbow.gin', text);
    assert.deepStrictEqual(rows(list), [[28, 34, 'create_optimizer.learning_rate', '6.25e-5', 6.25e-5]]);
    assert.strictEqual(list[0].kind, 'gin');
    assert.strictEqual(list[0].score, 120);
    assertRewrite('rainbow.gin', text, 1.25e-4, 'learning_rate = 6.25e-5\n', 'learning_rate = 1.25e-4\n');
  });

  it('finds a module-qualified configurable (tf.train.RMSPropOptimizer.learning_rate) in the DQN Nature config', () => {
    const text = fixture('dopamine_dqn_nature.gin');
    assert.deepStrictEqual(locate('dqn.gin', text), [[21, 43, 'tf.train.RMSPropOptimizer.learning_rate', '0.00025', 0.00025]]);
    assertRewrite('dqn.gin', text, 0.0001, '.learning_rate = 0.00025\n', '.learning_rate = 0.0001\n');
  });

  it('reads scopes, macros, names that say what a configurable is; never strings, lists, references or expressions', () => {
    const src = [
      'from __gin__ import dynamic_registration', // 1
      "include 'base.gin'",                       // 2
      'LEARNING_RATE = 1e-3',                     // 3
      'train/Adam.learning_rate = 0.01',          // 4
      'Trainer.learning_rate = %LEARNING_RATE',   // 5
      'Trainer.lr = @schedules.cosine',           // 6
      "Trainer.notes = 'lr = 0.2'",               // 7
      'Trainer.max_lr = [',                       // 8
      '    0.1, 0.2]',                            // 9
      'Trainer.base_lr = -1e-3',                  // 10
      'make_opt.name = "sgd"',                    // 11
      'make_opt.lr = 0.05  # lr = 0.3',           // 12
      '# Trainer.lr = 0.4',                       // 13
      'Trainer.min_lr = 1e-6',                    // 14
      'eval/Trainer.lr = 2e-4',                   // 15
      '',
    ].join('\n');
    assert.deepStrictEqual(locate('c.gin', src), [
      [4, 28, 'train/Adam.learning_rate', '0.01', 0.01],
      [12, 15, 'make_opt.lr', '0.05', 0.05],
      [3, 17, 'LEARNING_RATE', '1e-3', 1e-3],
      [15, 19, 'eval/Trainer.lr', '2e-4', 2e-4],
    ]);
  });
});

describe('locate: YAML schedule strings (rl-baselines3-zoo)', () => {
  it("takes fairseq's one-LR list (lr: [0.0005], block or flow), never a list of several", () => {
    assert.deepStrictEqual(locate('base.yaml', 'optimization:\n  lr: [0.0005]\n  max_update: 125000\nother:\n  lr:\n    - 0.1\n  lrs: [0.1, 0.2]\n  learning_rate: [0.1, 0.2]\n'), [
      [2, 8, 'optimization.lr[0]', '0.0005', 0.0005], [6, 7, 'other.lr[0]', '0.1', 0.1],
    ]);
  });

  it('finds the number of lin_2.5e-4 and !!float 1e-3; clip_range schedules and comments are not LRs', () => {
    const text = fixture('rl_zoo_ppo.yml');
    const list = locateLearningRates('ppo.yml', text);
    assert.deepStrictEqual(rows(list), [
      [11, 22, 'atari.learning_rate', '2.5e-4', 2.5e-4],
      [25, 26, 'Pendulum-v1.learning_rate', '1e-3', 1e-3],
      [43, 22, 'LunarLanderContinuous-v2.learning_rate', '7e-4', 7e-4],
    ]);
    assert.strictEqual(list[0].context, 'learning_rate: lin_2.5e-4');
  });

  it('rewrites only the number of the schedule, keeping lin_ and the style', () => {
    const text = fixture('rl_zoo_ppo.yml');
    assertRewrite('ppo.yml', text, 3e-4, 'learning_rate: lin_2.5e-4', 'learning_rate: lin_3.0e-4');
    assertRewrite('ppo.yml', text, 1e-3, 'learning_rate: lin_7e-4', 'learning_rate: lin_1e-3', (l) => l[2]);
    const quoted = 'CartPole-v1:\n  learning_rate: "lin_0.001"\n  lr: \'lin_1e-3\'\n  max_lr: lin_1e-3 # no\n  base_lr: "lin_\\x31e-3"\n';
    assert.deepStrictEqual(locate('a.yml', quoted), [
      [2, 23, 'CartPole-v1.learning_rate', '0.001', 0.001], [3, 12, 'CartPole-v1.lr', '1e-3', 1e-3], [4, 15, 'CartPole-v1.max_lr', '1e-3', 1e-3],
    ]);
    assertRewrite('a.yml', quoted, 3e-4, '"lin_0.001"', '"lin_0.0003"');
  });

  it('reads a schedule string in JSON too', () => {
    assert.deepStrictEqual(locate('h.json', '{"CartPole-v1": {"learning_rate": "lin_7e-4", "clip_range": "lin_0.2"}}'), [
      [1, 40, 'CartPole-v1.learning_rate', '7e-4', 7e-4],
    ]);
  });
});

describe('locate: absl / TF flags', () => {
  it("finds BERT's flags.DEFINE_float(\"learning_rate\", 5e-5, ...), not the other float flags or the help text", () => {
    const text = fixture('bert_run_classifier.py');
    const list = locateLearningRates('run_classifier.py', text);
    assert.deepStrictEqual(rows(list), [[51, 37, 'learning_rate', '5e-5', 5e-5]]);
    assert.strictEqual(list[0].context, 'flags.DEFINE_float("learning_rate", 5e-5, "The initial learning rate for Adam.")');
    assertRewrite('run_classifier.py', text, 3e-5, '"learning_rate", 5e-5,', '"learning_rate", 3e-5,');
  });

  it('reads keyword forms and tf.app.flags; never a flag that is not an LR or a default that is not a number', () => {
    const src = [
      "tf.app.flags.DEFINE_float('lr', 0.1, 'Initial learning rate.')",
      "flags.DEFINE_float(name='max_lr', default=1e-2, help='Peak LR.')",
      "flags.DEFINE_float('base_lr', default=0.5, help='x')",
      "flags.DEFINE_float('min_lr', 1e-6, 'x')",
      "flags.DEFINE_float('init_lr', -1.0, 'x')",
      "flags.DEFINE_string('learning_rate', '0.1', 'x')",
      "flags.DEFINE_float('peak_lr', BASE * 2, 'x')",
      '',
    ].join('\n');
    assert.deepStrictEqual(locate('f.py', src), [
      [1, 33, 'lr', '0.1', 0.1], [2, 43, 'max_lr', '1e-2', 0.01], [3, 39, 'base_lr', '0.5', 0.5],
    ]);
  });
});

describe('locate: fastai fits and slices', () => {
  it('finds the positional LR of fit_one_cycle/fine_tune/fit_flat_cos/fit_sgdr/fit and both ends of a slice, upper first', () => {
    const src = [
      'learn.fit_one_cycle(5, 1e-3)',                       // 1
      'learn.fine_tune(3, 2e-3)',                           // 2
      'learn.fit_flat_cos(4, 1e-2)',                        // 3
      'learn.fit_sgdr(3, 1, 3e-3)',                         // 4
      'learn.fit(10, 1e-2)',                                // 5
      'learn.fit_one_cycle(6, lr_max=slice(1e-6, 1e-4))',   // 6
      'learn.fit_one_cycle(4, slice(1e-5, 1e-3))',          // 7
      'learn.fit_one_cycle(4, slice(4e-3))',                // 8
      'learn.fine_tune(3, base_lr=2e-3, freeze_epochs=1)',  // 9
      'lr = slice(None, 3e-3)',                             // 10
      '',
    ].join('\n');
    assert.deepStrictEqual(locate('nb.py', src), [
      [10, 18, 'lr', '3e-3', 3e-3],
      [1, 24, 'learn.fit_one_cycle()', '1e-3', 1e-3],
      [2, 20, 'learn.fine_tune()', '2e-3', 2e-3],
      [3, 23, 'learn.fit_flat_cos()', '1e-2', 1e-2],
      [4, 22, 'learn.fit_sgdr()', '3e-3', 3e-3],
      [5, 15, 'learn.fit()', '1e-2', 1e-2],
      [6, 43, 'lr_max', '1e-4', 1e-4],
      [7, 36, 'learn.fit_one_cycle()', '1e-3', 1e-3],
      [8, 30, 'learn.fit_one_cycle()', '4e-3', 4e-3],
      [9, 28, 'base_lr', '2e-3', 2e-3],
      [6, 37, 'lr_max.start', '1e-6', 1e-6],
      [7, 30, 'learn.fit_one_cycle().start', '1e-5', 1e-5],
    ]);
  });

  it("never takes Keras' or scikit-learn's fit, a slice inside an expression, a function named slice, or non-number ends", () => {
    const src = [
      'model.fit(x_train, y_train, 128, 15)', 'clf.fit(X, 0.5)', 'fit_one_cycle(5, 1e-3)', 'learn.fit_one_cycle(5, lr * 0.1)',
      'learn.fit_one_cycle(5, slice(1e-5, 1e-3) * 2)', 'lr_max = obj.slice(1e-5, 1e-3)', 'lr_max = slice(a, b)',
      'learn.fit_one_cycle(5, 1e-3, lr_max=2e-3)', 'x = slice(1e-5, 1e-3)', 'lr = slice(1e-5, 1e-3, 2)', '',
    ].join('\n');
    assert.deepStrictEqual(locate('k.py', src), [[8, 37, 'lr_max', '2e-3', 2e-3]]);
  });

  it('rewrites one end of a slice and finds it again by its column', () => {
    const text = 'learn.fit_one_cycle(6, lr_max=slice(1e-6, 1e-4))\n';
    const list = locateLearningRates('a.py', text);
    const lower = list.find((c) => c.key === 'lr_max.start')!;
    assert.strictEqual(applyLearningRate(text, lower, 3e-6).text, 'learn.fit_one_cycle(6, lr_max=slice(3e-6, 1e-4))\n');
    const same = 'learn.fit_one_cycle(6, lr_max=slice(1e-4, 1e-4))\n';
    const upper = locateLearningRates('a.py', same)[0];
    assert.strictEqual(relocate('a.py', '# moved\n' + same, upper)!.column, 43);
    assert.strictEqual(relocate('a.py', '# moved\n' + same, { ...upper, key: 'lr_max.start', column: 37 })!.column, 37);
  });
});
