/**
 * The one registry of suggestions: name, the words each front end shows, whether the settings offer it, and the
 * function that computes it from a curve (as fastai's `suggest_funcs` are one list of functions with one signature).
 * The panel, the plot, the CLI's table and JSON, the HTML report and the package.json enum all read this list (a unit
 * test checks package.json against it). Pure.
 */
import { minimum, slide, steep, valley, type FastaiPick } from './fastai';
import { minimumPoint, steepestPoint } from './curve';
import { formatLr } from './format';
import { recommend } from './recommend';
import type { Analysis, Suggestion, SuggestionOrReason, SweepSettings } from './analysis';

export type SuggestionName = 'valley' | 'slide' | 'minimum' | 'steep' | 'steepest' | 'minimumPoint' | 'recommended';

/** What a suggestion's function gets: the curve and the analysis so far (the suggestions of earlier stages). */
export interface SuggestionContext {
  lrs: readonly number[];
  losses: readonly number[];
  smoothed: readonly number[];
  settings: SweepSettings;
  /** fastai's trimmed curve (lr_find's `lrs[n_skip:-5]`-style cut) and where it starts. */
  trimmed: { lrs: number[]; losses: number[]; offset: number };
  /** Local slope per decade at every point (from the running median of the raw losses). */
  slopes: readonly number[];
  /** Points before the stop and the first non-finite loss. */
  usable: number;
  analysis: Analysis;
}

export interface SuggestionSpec {
  name: SuggestionName;
  /** The panel's list and the HTML report. */
  label: string;
  /** The annotation on the plot. */
  mark: string;
  /** The CLI's table. */
  cli: string;
  /** The one-letter mark of the CLI's text plot, for those it draws. */
  letter?: string;
  /** The settings' enum description; absent: not offered as lrFinder.recommendedSuggestion (the minimum point). */
  setting?: string;
  /** One of fastai's four (they go into `lr-finder suggest --json` as fastai names them). */
  fastai?: boolean;
  /** 0: from the curve alone; 1: needs stage-0 suggestions; 2: needs all others. */
  stage: 0 | 1 | 2;
  compute(c: SuggestionContext): SuggestionOrReason;
}

function fromFastai(name: SuggestionName, pick: (lrs: number[], losses: number[]) => FastaiPick | string, explain: (lr: string) => string) {
  return (c: SuggestionContext): SuggestionOrReason => {
    const r = pick(c.trimmed.lrs, c.trimmed.losses);
    if (typeof r === 'string') return { name, reason: r };
    return { name, lr: r.lr, index: r.index + c.trimmed.offset, explanation: explain(formatLr(r.lr)) };
  };
}

/** In display order: the panel's list, the CLI's table. */
export const SUGGESTIONS: readonly SuggestionSpec[] = [
  {
    name: 'recommended', label: 'Recommended (LR Finder)', mark: 'recommended', cli: 'recommended (ours)', letter: 'R', stage: 2,
    setting: "LR Finder (default): the middle of five estimates, fastai's valley, slide, minimum and steep and a third of where the loss stops improving, so no single misleading one can move it (measured in docs/quality.md)",
    compute: (c) => {
      const r = recommend(c.lrs, c.losses, c.analysis);
      return 'lr' in r ? { name: 'recommended', ...r } : { name: 'recommended', reason: r.reason };
    },
  },
  {
    name: 'steepest', label: 'Steepest slope', mark: 'steepest slope', cli: 'steepest slope', letter: 'S', stage: 1,
    setting: 'LR Finder: the steepest slope per decade of the smoothed curve, robust to early spikes',
    compute: (c) => steepestPoint(c.lrs, c.slopes, c.usable, c.analysis.suggestions.minimumPoint, c.settings.numIter),
  },
  {
    name: 'valley', label: 'Valley (fastai default)', mark: 'valley', cli: 'valley (fastai)', letter: 'V', fastai: true, stage: 0,
    setting: "fastai's default: about a third of the way down the longest descent",
    compute: fromFastai('valley', valley, (lr) => `fastai's valley: about a third of the way down the longest stretch where the loss keeps falling, at ${lr}.`),
  },
  {
    name: 'slide', label: 'Slide (fastai)', mark: 'slide', cli: 'slide (fastai)', fastai: true, stage: 0,
    setting: "fastai's slide rule",
    compute: fromFastai('slide', slide, (lr) => `fastai's slide: where the slope stops changing when sliding back from the end of the curve, at ${lr}.`),
  },
  {
    name: 'minimum', label: 'Minimum ÷ 10 (fastai)', mark: 'min/10', cli: 'minimum/10 (fastai)', fastai: true, stage: 0,
    setting: "fastai: the minimum's LR / 10",
    compute: fromFastai('minimum', minimum, (lr) => `fastai's minimum: one tenth of the LR with the lowest loss, ${lr}, to stay clear of divergence.`),
  },
  {
    name: 'steep', label: 'Steep (fastai)', mark: 'steep', cli: 'steep (fastai)', fastai: true, stage: 0,
    setting: "fastai: the steepest segment between neighbouring points",
    compute: fromFastai('steep', steep, (lr) => `fastai's steep: the left end of the steepest segment between neighbouring points, at ${lr}.`),
  },
  {
    name: 'minimumPoint', label: 'Minimum (do not pick)', mark: 'minimum', cli: 'minimum point', letter: 'M', stage: 0,
    compute: (c) => minimumPoint(c.lrs, c.smoothed, c.usable, Math.floor(c.settings.numIter / 10)),
  },
];

export const SUGGESTION_NAMES: readonly SuggestionName[] = SUGGESTIONS.map((s) => s.name);
export const FASTAI_METHODS: readonly SuggestionName[] = SUGGESTIONS.filter((s) => s.fastai).map((s) => s.name);
/** The names lrFinder.recommendedSuggestion offers. */
export const PICKABLE: readonly SuggestionName[] = SUGGESTIONS.filter((s) => s.setting).map((s) => s.name);

const BY_NAME = new Map(SUGGESTIONS.map((s) => [s.name, s]));
export function suggestionSpec(name: SuggestionName): SuggestionSpec {
  return BY_NAME.get(name)!;
}

export function isSuggestionName(v: unknown): v is SuggestionName {
  return typeof v === 'string' && BY_NAME.has(v as SuggestionName);
}

export type { Suggestion };
