import * as assert from 'assert';
import { didYouMean, formatIssue, parseConfigText } from '../../src/engines/tfjs/config';

const GOOD = `model:
  layers:
    - Dense: { units: 16, activation: relu, inputShape: [4] }
    - Dense: { units: 3, activation: softmax }
data:
  path: iris.csv
  label: species
loss: categoricalCrossentropy
optimizer:
  name: adam
  learningRate: 0.001
`;

function firstIssue(text: string, file = 'cfg.yaml') {
  const r = parseConfigText(file, text);
  assert.ok(!r.config, 'expected the config to be rejected');
  assert.ok(r.issues.length > 0);
  return r.issues[0];
}

describe('config parsing and validation', () => {
  it('accepts a good config and fills fastai defaults', () => {
    const r = parseConfigText('cfg.yaml', GOOD);
    assert.deepStrictEqual(r.issues, []);
    const c = r.config!;
    assert.strictEqual(c.sweep.startLr, 1e-7);
    assert.strictEqual(c.sweep.endLr, 10);
    assert.strictEqual(c.sweep.numIter, 100);
    assert.strictEqual(c.sweep.mode, 'exponential');
    assert.strictEqual(c.sweep.stopFactor, 4);
    assert.strictEqual(c.sweep.smoothing, 0.98);
    assert.strictEqual(c.batchSize, 32);
    assert.strictEqual(c.model.layers![0].className, 'Dense');
    assert.deepStrictEqual(c.model.layers![0].config, { units: 16, activation: 'relu', inputShape: [4] });
  });
  it('accepts Keras {class_name, config} layers and JSON with comments', () => {
    const json = `{
      // comment
      "model": { "layers": [ { "class_name": "Dense", "config": { "units": 1, "input_shape": [10] } } ] },
      "data": { "path": "d.csv", "label": "y" },
      "loss": "meanSquaredError",
      "optimizer": { "name": "sgd", "learningRate": 0.01, "momentum": 0.9, "nesterov": true }
    }`;
    const r = parseConfigText('cfg.json', json);
    assert.deepStrictEqual(r.issues.map(formatIssue), []);
    assert.strictEqual(r.config!.model.layers![0].keras, true);
  });
  it('unknown key: file:line:column, the key, and a did-you-mean', () => {
    const i = firstIssue(GOOD.replace('  learningRate: 0.001', '  learning_rate: 0.001'));
    assert.strictEqual(i.line, 11);
    assert.strictEqual(i.column, 3);
    assert.strictEqual(i.key, 'optimizer.learning_rate');
    assert.match(i.message, /unknown key "learning_rate" in optimizer; did you mean "learningRate"\?/);
    assert.match(formatIssue(i), /^cfg\.yaml:11:3: /);
  });
  it('misspelt layer class gets a did-you-mean', () => {
    const i = firstIssue(GOOD.replace('- Dense: { units: 3', '- Dens: { units: 3'));
    assert.strictEqual(i.line, 4);
    assert.match(i.message, /unknown key "Dens".*did you mean "Dense"/);
  });
  it('wrong type names the key and what was expected', () => {
    const i = firstIssue(GOOD.replace('learningRate: 0.001', 'learningRate: fast'));
    assert.strictEqual(i.line, 11);
    assert.strictEqual(i.column, 17);
    assert.match(i.message, /optimizer\.learningRate is "fast"; expected number/);
  });
  it('out of range value', () => {
    const i = firstIssue(GOOD + 'sweep:\n  smoothing: 1.5\n');
    assert.strictEqual(i.line, 13);
    assert.match(i.message, /sweep\.smoothing is 1\.5; expected a number < 1/);
  });
  it('enum with suggestion', () => {
    const i = firstIssue(GOOD.replace('loss: categoricalCrossentropy', 'loss: categorical_crossentropy'));
    assert.strictEqual(i.line, 8);
    assert.match(i.message, /loss is "categorical_crossentropy"; expected one of .*did you mean "categoricalCrossentropy"/);
  });
  it('missing required key points at its parent', () => {
    const i = firstIssue(GOOD.replace('  label: species\n', ''));
    assert.match(i.message, /data is missing the required key "label"/);
    assert.strictEqual(i.line, 6);
  });
  it('YAML syntax error has a position', () => {
    const i = firstIssue('model:\n  layers: [\n');
    assert.match(i.message, /YAML syntax error/);
    assert.ok(i.line >= 2);
  });
  it('JSON syntax error has a position', () => {
    const i = firstIssue('{ "model": { "layers": [ }', 'c.json');
    assert.match(i.message, /JSON syntax error/);
    assert.strictEqual(i.line, 1);
  });
  it('duplicate keys are errors', () => {
    const i = firstIssue(GOOD + 'loss: huber\n');
    assert.match(i.message, /unique|duplicate/i);
  });
  it('semantic checks: endLr > startLr, validation needs a split, first layer needs inputShape', () => {
    assert.match(firstIssue(GOOD + 'sweep:\n  startLr: 1\n  endLr: 0.1\n').message, /endLr \(0\.1\) must be greater than sweep\.startLr \(1\)/);
    assert.match(firstIssue(GOOD + 'sweep:\n  validation: true\n').message, /needs data\.validationSplit/);
    assert.match(firstIssue(GOOD.replace(', inputShape: [4]', '')).message, /first layer needs "inputShape"/);
    assert.match(firstIssue(GOOD.replace('name: adam', 'name: adam\n  momentum: 0.9')).message, /optimizer\.momentum does not apply to adam/);
  });
  it('empty file', () => {
    assert.match(firstIssue('').message, /empty/);
  });
  it('didYouMean', () => {
    assert.strictEqual(didYouMean('batch_size', ['batchSize', 'seed']), 'batchSize');
    assert.strictEqual(didYouMean('sede', ['batchSize', 'seed']), 'seed');
    assert.strictEqual(didYouMean('zzzzzz', ['batchSize', 'seed']), undefined);
  });
});
