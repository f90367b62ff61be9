/** The one tree walker that YAML, JSON, TOML, INI and gin share (src/core/locate/tree.ts). */
import * as assert from 'assert';
import { locateLearningRates, type LrLiteral } from '../../src/core/locate';
import { locateInTree, type TreeEntry, type TreeNode } from '../../src/core/locate/tree';

/** A number node for the only occurrence of `s` in `text`. */
function num(text: string, s: string, from = 0): TreeNode {
  const at = text.indexOf(s, from);
  assert.ok(at >= 0, `"${s}" not in the text`);
  return { type: 'number', offset: at, length: s.length };
}
const map = (...entries: Array<[string, TreeNode]>): TreeNode => ({ type: 'map', entries: entries.map(([key, value]): TreeEntry => ({ key, value })) });
const str = (value: string, offset?: number): TreeNode => ({ type: 'string', value, offset, length: offset === undefined ? undefined : value.length });

describe('locate: the shared tree walker', () => {
  it('reports dotted paths with sequence indexes, and only the numbers of LR-named keys', () => {
    const text = 'A 0.1 B 3e-4 C 2e-3 D 0.5 E 7';
    const tree = map(
      ['lr', num(text, '0.1')],
      ['groups', { type: 'seq', items: [map(['lr', num(text, '3e-4')]), map(['weight_decay', num(text, '0.5')])] }],
      ['model', map(['head', map(['max_lr', num(text, '2e-3')])])],
      ['min_lr', num(text, '7')],
    );
    assert.deepStrictEqual(locateInTree(text, [tree]), [
      { offset: 2, length: 3, key: 'lr', score: 100 },
      { offset: 8, length: 4, key: 'groups[0].lr', score: 100 },
      { offset: 15, length: 4, key: 'model.head.max_lr', score: 90 },
    ]);
  });

  it('counts an optimizer above it or beside it (type/name/class_path/_target_/optim), and an LR finder against it', () => {
    const text = 'a 0.1 b 0.2 c 0.3 d 0.4 e 0.5 f 0.6';
    const tree = map(
      ['optimizer', map(['lr', num(text, '0.1')])],
      ['opt', map(['type', str('SGD')], ['lr', num(text, '0.2')])],
      ['hydra', map(['_target_', str('torch.optim.AdamW')], ['lr', num(text, '0.3')])],
      ['hf', map(['optim', str('adamw_torch')], ['learning_rate', num(text, '0.4')])],
      ['lr_finder', map(['lr', num(text, '0.5')])],
      ['model', map(['name', str('resnet50')], ['lr', num(text, '0.6')])],
    );
    assert.deepStrictEqual(locateInTree(text, [tree]).map((f) => [f.key, f.score]), [
      ['optimizer.lr', 120], ['opt.lr', 120], ['hydra.lr', 120], ['hf.learning_rate', 120], ['lr_finder.lr', 50], ['model.lr', 100],
    ]);
  });

  it("reads a schedule string's number only when the string is written verbatim, and only lin_/linear_", () => {
    const text = 'lin_7e-4 "lin_1e-3" lin_\\u0031e-3 cos_1e-3 lin_x lin_-1e-3';
    const tree = map(
      ['learning_rate', str('lin_7e-4', 0)],
      ['lr', str('lin_1e-3', 10)],
      ['max_lr', str('lin_1e-3', 20)], // the text there is lin_\u0031e-3: not verbatim
      ['base_lr', str('lin_1e-3')], // no position (a block scalar, an escaped string)
      ['peak_lr', str('cos_1e-3', text.indexOf('cos_'))],
      ['lr0', str('lin_x', text.indexOf('lin_x'))],
      ['init_lr', str('lin_-1e-3', text.indexOf('lin_-'))],
    );
    assert.deepStrictEqual(locateInTree(text, [tree]), [
      { offset: 4, length: 4, key: 'learning_rate', score: 100 },
      { offset: 14, length: 4, key: 'lr', score: 100 },
    ]);
  });

  it('walks every root (a YAML stream) from an empty path, skips scalars at the top and numbers in sequences', () => {
    const text = '0.1 0.2 0.3';
    const roots: Array<TreeNode | undefined> = [
      map(['lr', num(text, '0.1')]), undefined, num(text, '0.2'), { type: 'seq', items: [num(text, '0.3'), map(['lr', num(text, '0.3')])] },
    ];
    assert.deepStrictEqual(locateInTree(text, roots).map((f) => f.key), ['lr', '[1].lr']);
  });

  it("takes a language's own LR names after the common ones, and never a number whose text is not a positive decimal", () => {
    const text = 'rho 0.3 lr 0x10 lr -1 lr 0';
    const tree = map(['rho', num(text, '0.3')], ['lr', num(text, '0x10')], ['learning_rate', num(text, '-1')], ['LR', num(text, '0', 20)]);
    assert.deepStrictEqual(locateInTree(text, [tree], { keyScore: (k) => (k === 'rho' ? 85 : undefined) }), [
      { offset: 4, length: 3, key: 'rho', score: 85 },
    ]);
    assert.deepStrictEqual(locateInTree(text, [tree]), []);
  });

  it('gives the same keys and scores for one config written as YAML, JSON and TOML', () => {
    const yaml = [
      'model:', '  name: resnet', '  lr: 0.1', 'optimizer:', '  type: AdamW', '  lr: 3e-4', '  param_groups:', '    - lr: 1e-4',
      '    - min_lr: 1e-6', 'lr_finder:', '  base_lr: 1e-7', 'schedule:', '  learning_rate: lin_7e-4', '',
    ].join('\n');
    const json = JSON.stringify({
      model: { name: 'resnet', lr: 0.1 }, optimizer: { type: 'AdamW', lr: 3e-4, param_groups: [{ lr: 1e-4 }, { min_lr: 1e-6 }] },
      lr_finder: { base_lr: 1e-7 }, schedule: { learning_rate: 'lin_7e-4' },
    }, null, 2).replace('0.0003', '3e-4').replace('0.0001', '1e-4').replace('1e-7', '1e-7');
    const toml = [
      '[model]', 'name = "resnet"', 'lr = 0.1', '[optimizer]', 'type = "AdamW"', 'lr = 3e-4', '[[optimizer.param_groups]]', 'lr = 1e-4',
      '[[optimizer.param_groups]]', 'min_lr = 1e-6', '[lr_finder]', 'base_lr = 1e-7', '[schedule]', 'learning_rate = "lin_7e-4"', '',
    ].join('\n');
    const view = (list: LrLiteral[]) => list.map((c) => [c.key, c.text, c.score]);
    const expected = [
      ['optimizer.lr', '3e-4', 120], ['optimizer.param_groups[0].lr', '1e-4', 120], ['model.lr', '0.1', 100],
      ['schedule.learning_rate', '7e-4', 100], ['lr_finder.base_lr', '1e-7', 35],
    ];
    assert.deepStrictEqual(view(locateLearningRates('c.yaml', yaml)), expected);
    assert.deepStrictEqual(view(locateLearningRates('c.json', json)), expected);
    assert.deepStrictEqual(view(locateLearningRates('c.toml', toml)), expected);
  });
});
