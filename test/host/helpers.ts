/** What every host test needs: the extension's API, a sleep, and polling until a condition holds. */
import * as assert from 'assert';
import * as vscode from 'vscode';
import type { LrFinderApi } from '../../src/extension';

export const EXT_ID = 'lr-finder.lr-finder';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function api(): Promise<LrFinderApi> {
  const ext = vscode.extensions.getExtension<LrFinderApi>(EXT_ID);
  assert.ok(ext, 'extension is installed');
  return ext.isActive ? ext.exports : ext.activate();
}

/** Poll `f` every 25 ms until it returns something truthy; throws after `ms`. */
export async function until<T>(f: () => T | undefined | false, ms = 60000, what = 'condition'): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
