/**
 * The `lr-finder` command line.
 *   lr-finder run CONFIG [--json] [--html FILE] [--start-lr X] [--end-lr Y] [--num-iter N] [--seed S] [--backend B]
 *   lr-finder run ... --verify [--verify-steps 250] [--verify-seeds 1] [--verify-candidates 8]   (then train candidate LRs and measure)
  lr-finder suggest CURVE.json [--json]
 *   lr-finder locate FILE [--json]
 *   lr-finder apply FILE LR [--cell C] [--line N] [--column K]
 * Exit codes: 0 ok, 1 the sweep failed, 2 usage or config error. --debug prints stack traces.
 */
import * as fs from 'fs';
import * as path from 'path';
import { LocatedError } from '../core/errors';
import { runCommand } from './run';
import { suggestCommand } from './suggest';
import { applyCommand, locateCommand } from './locate';
import { UsageError } from './args';

const USAGE = `usage:
  lr-finder run CONFIG [--json] [--html FILE] [--start-lr X] [--end-lr Y] [--num-iter N] [--seed S] [--backend auto|wasm|cpu|tensorflow]
  lr-finder run train.py | -m MODULE [--python PY] [--launcher "torchrun --nproc_per_node 2"] [--json] [--num-iter N] ... [-- ARGS]
  lr-finder run ... --verify [--verify-steps 250] [--verify-seeds 1] [--verify-candidates 8]   (then train candidate LRs and measure)
  lr-finder suggest CURVE.json [--json]
  lr-finder locate FILE [--json]
  lr-finder apply FILE LR [--cell C] [--line N] [--column K]
options: --debug (stack traces), --help`;

async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  if (debug) process.env.LR_FINDER_DEBUG ??= '1'; // the engine's stack traces too
  const args = argv.filter((a) => a !== '--debug');
  const out = (s: string) => process.stdout.write(s + '\n');
  const err = (s: string) => process.stderr.write(s + '\n');
  try {
    const [cmd, ...rest] = args;
    if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') { out(USAGE); return cmd ? 0 : 2; }
    if (cmd === '--version') { out(JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')).version); return 0; }
    switch (cmd) {
      case 'run': return await runCommand(rest, out, err);
      case 'suggest': return await suggestCommand(rest, out);
      case 'locate': return await locateCommand(rest, out, err);
      case 'apply': return await applyCommand(rest, out, err);
      default: throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) { err(`lr-finder: ${e.message}\n${USAGE}`); return 2; }
    if (e instanceof LocatedError) { err(`lr-finder: ${e.message}`); if (debug) err(String(e.stack)); return 2; }
    err(`lr-finder: ${(e as Error)?.message ?? e}`);
    if (debug) err(String((e as Error)?.stack));
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
