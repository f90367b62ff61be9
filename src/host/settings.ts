/** Typed access to the lrFinder.* settings. */
import * as vscode from 'vscode';
import type { SuggestionName } from '../core/analysis';
import { VERIFY_DEFAULTS, VERIFY_LIMITS, type VerifyOptions } from '../core/verify';

const clampInt = (v: unknown, lim: { min: number; max: number }, d: number) =>
  (typeof v === 'number' && Number.isFinite(v) ? Math.min(lim.max, Math.max(lim.min, Math.round(v))) : d);

export interface Settings {
  startLr?: number;
  endLr?: number;
  numIter?: number;
  stopFactor?: number;
  smoothing?: number;
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  recommended: SuggestionName;
  confirmBeforeWriting: boolean;
  significantDigits: number;
  /** Script runs: let torch.load read workspace files (pretrained weights). */
  scriptAllowLoad: boolean;
  /** Script runs: seconds to wait for the first optimizer step. */
  firstStepTimeout: number;
  codeLens: boolean;
  /** Verify: steps per candidate, seeds, candidates at most. */
  verify: VerifyOptions;
}

export function readSettings(scope?: vscode.Uri): Settings {
  const c = vscode.workspace.getConfiguration('lrFinder', scope);
  const opt = (k: string) => { const v = c.get<number | null>(k); return typeof v === 'number' ? v : undefined; };
  return {
    startLr: opt('sweep.startLr'),
    endLr: opt('sweep.endLr'),
    numIter: opt('sweep.numIter'),
    stopFactor: opt('sweep.stopFactor'),
    smoothing: opt('sweep.smoothing'),
    backend: c.get('backend', 'auto'),
    recommended: c.get('recommendedSuggestion', 'recommended') as SuggestionName,
    confirmBeforeWriting: c.get('confirmBeforeWriting', true),
    significantDigits: Math.min(6, Math.max(1, c.get('significantDigits', 2))),
    scriptAllowLoad: c.get('script.allowLoad', false),
    firstStepTimeout: Math.max(1, c.get('script.firstStepTimeout', 300)),
    codeLens: c.get('codeLens', true),
    verify: {
      ...VERIFY_DEFAULTS,
      steps: clampInt(c.get('verify.steps'), VERIFY_LIMITS.steps, VERIFY_DEFAULTS.steps),
      seeds: clampInt(c.get('verify.seeds'), VERIFY_LIMITS.seeds, VERIFY_DEFAULTS.seeds),
      maxCandidates: clampInt(c.get('verify.candidates'), VERIFY_LIMITS.maxCandidates, VERIFY_DEFAULTS.maxCandidates),
    },
  };
}
