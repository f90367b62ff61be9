/** The sweep settings an engine reports in its hello are the ones the analysis uses (they win over the ones asked for). Pure. */
import type { SweepSettings } from './analysis';
import type { EngineSettings } from './protocol';

export function adopt(asked: SweepSettings, used: Partial<EngineSettings> | undefined): SweepSettings {
  if (!used) return asked;
  const pick = <K extends keyof SweepSettings>(k: K): SweepSettings[K] => (used[k] ?? asked[k]) as SweepSettings[K];
  return { startLr: pick('startLr'), endLr: pick('endLr'), numIter: pick('numIter'), mode: pick('mode'), stopFactor: pick('stopFactor'), smoothing: pick('smoothing') };
}
