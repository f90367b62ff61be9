/** The suggestion registry is the one owner: package.json's setting, the panel, the plot and the CLI read it. */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { analyzeCurve } from '../../src/core/analysis';
import { markRows } from '../../src/core/chartSpec';
import { PICKABLE, SUGGESTIONS, SUGGESTION_NAMES, FASTAI_METHODS } from '../../src/core/suggestions';
import { suggestionViews } from '../../src/core/sweepView';
import { suggestionTable } from '../../src/cli/terminal';

const ROOT = path.resolve(__dirname, '../../..');

function curve() {
  const lrs = Array.from({ length: 100 }, (_, i) => 1e-7 * Math.pow(1e8, i / 100));
  const losses = lrs.map((lr, i) => 2 - 1.5 / (1 + Math.exp(-(Math.log10(lr) + 3) * 2)) + (Math.log10(lr) > -0.5 ? 10 ** (Math.log10(lr) + 0.5) * 3 : 0) + 0.01 * Math.sin(i * 7));
  return { lrs, losses };
}

describe('suggestion registry', () => {
  it('package.json offers exactly the pickable suggestions, with the registry\'s descriptions', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const prop = pkg.contributes.configuration.properties['lrFinder.recommendedSuggestion'];
    const fromPkg = Object.fromEntries((prop.enum as string[]).map((n, i) => [n, prop.enumDescriptions[i]]));
    const fromRegistry = Object.fromEntries(SUGGESTIONS.filter((s) => s.setting).map((s) => [s.name, s.setting]));
    assert.deepStrictEqual(fromPkg, fromRegistry);
    assert.ok(PICKABLE.includes(prop.default));
  });
  it('names are unique; fastai\'s four are the fastai ones', () => {
    assert.strictEqual(new Set(SUGGESTION_NAMES).size, SUGGESTION_NAMES.length);
    assert.deepStrictEqual([...FASTAI_METHODS].sort(), ['minimum', 'slide', 'steep', 'valley']);
  });
  it('every front end lists every suggestion once, in the registry\'s words', () => {
    const { lrs, losses } = curve();
    const a = analyzeCurve(lrs, losses, { numIter: 100 });
    assert.deepStrictEqual(Object.keys(a.suggestions), [...SUGGESTION_NAMES]);
    const views = suggestionViews(a, { recommended: 'valley', digits: 2, target: '' });
    assert.deepStrictEqual(views.map((v) => v.name), ['valley', ...SUGGESTION_NAMES.filter((n) => n !== 'valley')]);
    assert.deepStrictEqual(views.map((v) => v.label).sort(), SUGGESTIONS.map((s) => s.label).sort());
    const table = suggestionTable(lrs, a);
    for (const s of SUGGESTIONS) assert.ok(table.includes(s.cli), s.cli);
    const marks = markRows(a, 'recommended');
    assert.ok(marks.find((m) => m.name === 'recommended')?.label.startsWith('recommended ★'));
  });
});
