/**
 * Where an LR picked for a script run goes: the LR literal the script actually built its optimizer from. The hello
 * reports each param group's LR as constructed (and OneCycleLR's max_lr); the literal with that value in the script or
 * in a workspace file it read (a module of its own, a YAML/JSON config) is the one to rewrite. Pure.
 */
import type { LrLiteral } from './locate';
import type { ScriptSummary } from './protocol';

export interface FileLiterals {
  /** Path relative to the workspace folder (as shown) or absolute. */
  file: string;
  literals: LrLiteral[];
}

export interface Candidate {
  file: string;
  literal: LrLiteral;
  /** Its value is one the optimizer was built with. */
  matches: boolean;
}

/** The LRs the script's optimizers were built with; OneCycleLR's max_lr first (a picked LR is a one-cycle max). */
export function constructedLrs(s: ScriptSummary | undefined): number[] {
  if (!s) return [];
  const out: number[] = [];
  const add = (v: number | null | undefined) => { if (typeof v === 'number' && v > 0 && !out.some((x) => sameLr(x, v))) out.push(v); };
  for (const o of s.optimizers) for (const g of o.groups) add(g.maxLr);
  for (const o of s.optimizers) for (const g of o.groups) add(g.lr);
  return out;
}

export function sameLr(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

/** Every literal of every file, the ones whose value the optimizer was built with first (then by the locator's score). */
export function rankCandidates(files: FileLiterals[], values: number[]): Candidate[] {
  const all: (Candidate & { order: number; rank: number })[] = [];
  let order = 0;
  for (const f of files) {
    for (const l of f.literals) {
      const k = values.findIndex((v) => sameLr(v, l.value));
      all.push({ file: f.file, literal: l, matches: k >= 0, order: order++, rank: k < 0 ? values.length : k });
    }
  }
  all.sort((a, b) => Number(b.matches) - Number(a.matches) || a.rank - b.rank || b.literal.score - a.literal.score || a.order - b.order);
  return all.map(({ file, literal, matches }) => ({ file, literal, matches }));
}

/**
 * An argparse option whose value was given on the command line (not its default) and equals a constructed LR: the
 * value to rewrite is then in the arguments, not in the file.
 */
export function lrFromCommandLine(s: ScriptSummary | undefined): { option: string; value: number } | undefined {
  if (!s) return undefined;
  const values = constructedLrs(s);
  for (const o of s.options) {
    if (typeof o.value !== 'number' || o.value === o.default) continue;
    if (values.some((v) => sameLr(v, o.value as number)) && s.argv.some((a) => a === o.option || a.startsWith(`${o.option}=`))) {
      return { option: o.option, value: o.value };
    }
  }
  return undefined;
}
