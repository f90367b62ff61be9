/** Small argument parsing for the CLI: flags with values, boolean flags and positionals. */
export class UsageError extends Error {}

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

export function parseArgs(argv: string[], valued: readonly string[], booleans: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { positionals.push(a); continue; }
    const [name, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (booleans.includes(name)) { flags.set(name, true); continue; }
    if (!valued.includes(name)) throw new UsageError(`unknown option ${name}`);
    const v = inline ?? argv[++i];
    if (v === undefined) throw new UsageError(`${name} needs a value`);
    flags.set(name, v);
  }
  return { positionals, flags };
}

export function numberFlag(p: ParsedArgs, name: string, check: (x: number) => boolean, expected: string): number | undefined {
  const v = p.flags.get(name);
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v === true || v.trim() === '' || !Number.isFinite(x) || !check(x)) throw new UsageError(`${name} is ${JSON.stringify(v)}; expected ${expected}`);
  return x;
}
