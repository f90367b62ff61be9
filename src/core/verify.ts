/**
 * Verify: the LR measured, not read off a curve. Short one-cycle trainings from the same fresh initialisation at a
 * few candidate max LRs around the recommendation, each scored on held-out loss; the measured best is the verified LR.
 * This module is the method (which candidates, in which order, which one wins, what to say); the engines train one
 * candidate each (a `candidate` event) and src/runner/verifyRun.ts runs them. Pure: no Node, no vscode.
 *
 * The method (designed on the 34 recorded tasks of both outcome benchmarks, then frozen; docs/quality.md):
 *  1. three candidates: the recommendation and half a decade either side;
 *  2. while the best is the lowest or the highest candidate, one more half a decade beyond it (at most
 *     `maxCandidates - 2` in all before step 3, so a best at the edge is followed, not guessed);
 *  3. the two quarter-decade midpoints either side of the best;
 *  4. the lowest mean held-out loss (over seeds) wins. A diverged training scores +Infinity.
 * So 5 trainings when the recommendation is already the best, at most `maxCandidates` (8) × seeds.
 */
import { formatLoss, formatLr } from './format';

export interface VerifyOptions {
  /** Training steps of each candidate (one-cycle over exactly these steps). */
  steps: number;
  /** Trainings per candidate LR, with seeds +0, +1, … (1: the sweep's own initialisation). */
  seeds: number;
  /** Candidate LRs at most (before seeds). */
  maxCandidates: number;
  /** Decades between the first candidates; the refinement halves it. */
  spacing: number;
}

export const VERIFY_DEFAULTS: VerifyOptions = { steps: 250, seeds: 1, maxCandidates: 8, spacing: 0.5 };
/** Limits of the options, for settings, config and flags. */
export const VERIFY_LIMITS = { steps: { min: 10, max: 100000 }, seeds: { min: 1, max: 5 }, maxCandidates: { min: 3, max: 12 } };

/** Where a candidate's score comes from (the engine says which it could use). */
export type VerifySignal = 'validation' | 'held-out' | 'training' | string;

/** One training of one candidate: what an engine's `candidate` event says. */
export interface CandidateResult {
  lr: number;
  seed: number;
  /** Held-out loss at the end (+Infinity when it diverged). */
  loss: number;
  /** Mean training loss over the last 10% of its steps. */
  trainLoss?: number;
  diverged: boolean;
  steps: number;
  signal: VerifySignal;
  /** Held-out samples scored. */
  rows?: number;
  seconds?: number;
}

/** One candidate LR over its seeds. */
export interface CandidateSummary {
  lr: number;
  /** Held-out loss per seed, in seed order. */
  losses: number[];
  /** Mean over seeds (+Infinity if any diverged). */
  loss: number;
  /** max - min over seeds (0 with one seed). */
  spread: number;
  diverged: boolean;
  /** Mean over seeds of the training loss at the end (when the engine reported it). */
  trainLoss?: number;
}

export interface Verified {
  lr: number;
  /** The recommendation the candidates were centred on. */
  center: number;
  /** Every candidate trained, by LR. */
  candidates: CandidateSummary[];
  /** The best is the lowest or highest candidate: the best LR may lie beyond (widen and verify again). */
  atEdge?: 'low' | 'high';
  steps: number;
  seeds: number;
  signal: VerifySignal;
  /** Training steps spent in all. */
  totalSteps: number;
  /** Not every planned candidate ran (cancelled or failed): the best of those that did. */
  partial: boolean;
  /** One plain sentence for the plot and the terminal. */
  explanation: string;
}

const valid = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0;

/** Candidate positions are multiples of a quarter step: k → center × 10^(k × spacing / 2). */
function position(center: number, lr: number, spacing: number): number {
  return Math.round((Math.log10(lr / center) * 2) / spacing);
}

function lrAt(center: number, k: number, spacing: number): number {
  return center * 10 ** ((k * spacing) / 2);
}

/** The candidates measured so far, one per LR, by LR (seeds averaged). */
export function summarize(results: readonly CandidateResult[]): CandidateSummary[] {
  const by = new Map<number, CandidateResult[]>();
  for (const r of results) {
    if (!valid(r.lr)) continue;
    const key = Number(r.lr.toPrecision(12));
    by.set(key, [...(by.get(key) ?? []), r]);
  }
  return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([lr, rs]) => {
    const sorted = rs.slice().sort((a, b) => a.seed - b.seed);
    const losses = sorted.map((r) => (r.diverged || !Number.isFinite(r.loss) ? Infinity : r.loss));
    const diverged = sorted.some((r) => r.diverged || !Number.isFinite(r.loss));
    const loss = diverged ? Infinity : losses.reduce((a, b) => a + b, 0) / losses.length;
    const spread = diverged ? 0 : Math.max(...losses) - Math.min(...losses);
    const trains = sorted.map((r) => r.trainLoss).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
    const trainLoss = trains.length === sorted.length && trains.length ? trains.reduce((a, b) => a + b, 0) / trains.length : undefined;
    return { lr, losses, loss, spread, diverged, ...(trainLoss !== undefined ? { trainLoss } : {}) };
  });
}

/** Relative difference under which candidates' losses are the same (a training that did not move at any of them). */
const SAME_LOSS = 1e-4;

/** Every candidate ended at the same finite loss: the trainings did not move, so nothing was measured. */
function indistinct(c: readonly CandidateSummary[]): number | undefined {
  if (c.length < 3 || c.some((x) => !Number.isFinite(x.loss))) return undefined;
  const lo = Math.min(...c.map((x) => x.loss)), hi = Math.max(...c.map((x) => x.loss));
  return hi - lo <= SAME_LOSS * Math.abs(lo) ? lo : undefined;
}

/** The best candidate: the lowest mean loss; ties (all diverged) go to the lowest LR. */
function bestIndex(c: readonly CandidateSummary[]): number {
  let best = 0;
  for (let i = 1; i < c.length; i++) if (c[i].loss < c[best].loss) best = i;
  return best;
}

function withDefaults(o: Partial<VerifyOptions> = {}): VerifyOptions {
  return { ...VERIFY_DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) };
}

/**
 * The candidate LRs to train next (each with every seed), given what has been measured; [] when verifying is done.
 * `results` must hold only trainings of LRs this function proposed for the same `center`.
 */
export function nextCandidates(center: number, results: readonly CandidateResult[], options: Partial<VerifyOptions> = {}): number[] {
  const o = withDefaults(options);
  if (!valid(center)) return [];
  const c = summarize(results);
  const have = new Set(c.map((x) => position(center, x.lr, o.spacing)));
  if (!c.length) return [-2, 0, 2].map((k) => lrAt(center, k, o.spacing));
  // An LR proposed but not yet measured for every seed: finish those first.
  const incomplete = c.filter((x) => results.filter((r) => Number(r.lr.toPrecision(12)) === x.lr).length < o.seeds).map((x) => x.lr);
  if (incomplete.length) return incomplete;
  if (indistinct(c) !== undefined) return [];
  const b = bestIndex(c);
  const kBest = position(center, c[b].lr, o.spacing);
  const ks = [...have].sort((x, y) => x - y);
  const lo = ks[0], hi = ks[ks.length - 1];
  const room = o.maxCandidates - c.length;
  if (kBest === lo || kBest === hi) {
    // Follow a best at the edge while there is room for the refinement after it.
    if (room > 2) return [lrAt(center, kBest === lo ? lo - 2 : hi + 2, o.spacing)];
    return [];
  }
  const mids = [kBest - 1, kBest + 1].filter((k) => !have.has(k));
  // The refinement is done once (its midpoints never move the edge: they lie inside).
  if (ks.some((k) => k % 2 !== 0)) return [];
  return mids.slice(0, Math.max(0, room)).map((k) => lrAt(center, k, o.spacing));
}

/** The verified LR from what was measured; a reason when nothing usable ran. */
export function chooseVerified(
  center: number, results: readonly CandidateResult[], options: Partial<VerifyOptions> = {}, partial = false,
): Verified | { reason: string } {
  const o = withDefaults(options);
  const c = summarize(results);
  if (!c.length) return { reason: partial ? 'no candidate training finished' : 'no candidate was trained' };
  const b = bestIndex(c);
  if (!Number.isFinite(c[b].loss)) {
    return { reason: `every candidate diverged (${c.map((x) => formatLr(x.lr)).join(', ')}): the LR must be lower than ${formatLr(c[0].lr)}` };
  }
  const same = indistinct(c);
  if (same !== undefined) {
    return {
      reason: `every candidate (${formatLr(c[0].lr)} to ${formatLr(c[c.length - 1].lr)}) ended at the same held-out loss, ${formatLoss(same)}: ` +
        'the training did not move at these LRs (check the data scaling and the initialisation), so Verify measured nothing and the recommendation stands',
    };
  }
  const atEdge = c.length > 1 && b === 0 ? 'low' : c.length > 1 && b === c.length - 1 ? 'high' : undefined;
  const signals = [...new Set(results.map((r) => r.signal))];
  const signal = signals.length === 1 ? signals[0] : signals.includes('training') ? 'training' : signals[0];
  const steps = Math.max(...results.map((r) => r.steps));
  const totalSteps = results.reduce((a, r) => a + (r.steps || 0), 0);
  const seeds = Math.max(1, ...c.map((x) => x.losses.length));
  const v: Verified = {
    lr: c[b].lr, center, candidates: c, ...(atEdge ? { atEdge } : {}), steps, seeds, signal, totalSteps, partial, explanation: '',
  };
  v.explanation = explainVerified(v, o);
  return v;
}

const lossText = (x: CandidateSummary) => (x.diverged ? 'diverged' : x.losses.length > 1 ? `${formatLoss(x.loss)} ± ${formatLoss(x.spread / 2)}` : formatLoss(x.loss));

/**
 * "0.024 trained best of 6 candidates after 250 steps of one-cycle (held-out loss 0.315); 0.043 overfit (held-out
 * 0.365 though its training loss was lower, 0.21 vs 0.25); 0.014 learned more slowly (0.365)."
 */
export function explainVerified(v: Verified, o: VerifyOptions = VERIFY_DEFAULTS): string {
  const c = v.candidates;
  const b = c.findIndex((x) => x.lr === v.lr);
  const best = c[b];
  const what = v.signal === 'training' ? 'training loss' : v.signal === 'validation' ? 'validation loss' : 'held-out loss';
  const seeds = v.seeds > 1 ? `, mean of ${v.seeds} seeds` : '';
  let text = `${formatLr(v.lr)} trained best of ${c.length} candidate${c.length === 1 ? '' : 's'} after ${v.steps} steps of one-cycle (${what} ${lossText(best)}${seeds})`;
  const around: string[] = [];
  const held = v.signal !== 'training';
  const higher = c[b + 1];
  const lower = b > 0 ? c[b - 1] : undefined;
  // Within 1% of the best: not told apart by one measurement.
  const close = (x: CandidateSummary) => Number.isFinite(x.loss) && x.loss - best.loss <= 0.01 * Math.abs(best.loss);
  if (higher && close(higher)) around.push(`${formatLr(higher.lr)} about as good (${lossText(higher)})`);
  else if (higher) {
    // Lower training loss but higher held-out loss: it fit the training data better and generalised worse.
    const overfit = held && !higher.diverged && higher.trainLoss !== undefined && best.trainLoss !== undefined && higher.trainLoss < best.trainLoss;
    around.push(higher.diverged ? `${formatLr(higher.lr)} diverged`
      : overfit ? `${formatLr(higher.lr)} overfit (${lossText(higher)} though its training loss was lower, ${formatLoss(higher.trainLoss!)} vs ${formatLoss(best.trainLoss!)})`
        : `${formatLr(higher.lr)} trained worse (${lossText(higher)})`);
  }
  if (lower) around.push(lower.diverged ? `${formatLr(lower.lr)} diverged` : close(lower) ? `${formatLr(lower.lr)} about as good (${lossText(lower)})` : `${formatLr(lower.lr)} learned more slowly (${lossText(lower)})`);
  text += (around.length ? `; ${around.join('; ')}` : '') + '.';
  const near = c.filter((x, i) => i !== b && Number.isFinite(x.loss) && x.loss - best.loss <= Math.max(best.spread, x.spread));
  if (v.seeds > 1 && near.length) text += ` Within the seeds' spread of it: ${near.map((x) => formatLr(x.lr)).join(', ')}, which train about as well.`;
  if (v.atEdge) {
    const full = c.length >= o.maxCandidates;
    text += ` It is the ${v.atEdge === 'low' ? 'lowest' : 'highest'} candidate, so a ${v.atEdge === 'low' ? 'lower' : 'higher'} LR may train better still${full ? ': allow more candidates (lrFinder.verify.candidates, --verify-candidates) and verify again' : ''}.`;
  }
  if (v.signal === 'training') text += ' Nothing was held out (the batches do not come from a DataLoader), so overfitting cannot show.';
  if (v.partial) text += ` Only ${c.length} candidate${c.length === 1 ? '' : 's'} finished before the stop.`;
  return text;
}

/** Trainings verifying takes: 5 when the recommendation is the best, at most maxCandidates, each × seeds. */
export function verifyBudget(options: Partial<VerifyOptions> = {}): { min: number; typical: number; max: number; steps: number } {
  const o = withDefaults(options);
  return { min: 5 * o.seeds, typical: 5 * o.seeds, max: o.maxCandidates * o.seeds, steps: o.steps };
}

/**
 * The budget in words before it runs: "5 to 8 trainings of 250 steps: 12 to 20× this sweep's 100 steps, about
 * 40 s to 1.1 min (from this sweep's 3.2 s)".
 */
export function describeBudget(options: Partial<VerifyOptions>, sweep: { steps: number; seconds?: number; startup?: number }, parallel = 1): string {
  const b = verifyBudget(options);
  const range = (x: number, y: number, f: (n: number) => string) => (x === y ? f(x) : `${f(x)} to ${f(y)}`);
  let s = `${range(b.min, b.max, String)} trainings of ${b.steps} steps`;
  if (sweep.steps > 0) {
    const times = (n: number) => `${Math.round((n * b.steps) / sweep.steps)}`;
    s += `: ${range(b.min, b.max, times)}× this sweep's ${sweep.steps} steps`;
    if (sweep.seconds !== undefined && sweep.seconds > 0) {
      const per = sweep.seconds / sweep.steps;
      const start = sweep.startup !== undefined && sweep.startup > 0 ? sweep.startup : 0;
      const secs = (n: number) => formatSeconds((n * (b.steps * per + start)) / Math.max(1, parallel));
      const startText = start ? ` and its start-up, ${formatSeconds(start)}` : ', plus each training\'s start-up';
      s += `, about ${range(b.min, b.max, secs)} (from this sweep's ${formatSeconds(sweep.seconds)}${startText}${parallel > 1 ? `; ${parallel} at a time` : ''})`;
    }
  }
  return s;
}

function formatSeconds(s: number): string {
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 90) return `${Math.round(s)} s`;
  return `${(s / 60).toFixed(1)} min`;
}
