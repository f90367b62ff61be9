/** The script engine's end report in one line: what it kept from touching the user's folder. Pure. */
import type { ReportEvent } from './protocol';

export function reportLine(r: ReportEvent): string {
  const parts: string[] = [];
  const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  const saves = r.blocked.filter((b) => b.what !== 'torch.load');
  const loads = r.blocked.filter((b) => b.what === 'torch.load');
  if (saves.length) parts.push(`blocked ${count(saves.length, 'checkpoint save')} (${unique(saves.map((b) => b.path))})`);
  if (loads.length) parts.push(`refused ${count(loads.length, 'weights load')} (${unique(loads.map((b) => b.path))})`);
  // A new folder went with everything in it: name the folder, not its files.
  const folders = r.restored.filter((x) => x.action === 'removed' && x.path.endsWith('/')).map((x) => x.path);
  const removed = r.restored.filter((x) => x.action === 'removed' && !folders.some((f) => x.path !== f && x.path.startsWith(f)));
  const newFiles = removed.filter((x) => !x.path.endsWith('/'));
  const newFolders = removed.filter((x) => x.path.endsWith('/'));
  const restored = r.restored.filter((x) => x.action === 'restored' || x.action === 'recreated');
  const failed = r.restored.filter((x) => x.action !== 'removed' && x.action !== 'restored' && x.action !== 'recreated');
  if (newFiles.length) parts.push(`removed ${count(newFiles.length, 'new file')} (${unique(newFiles.map((x) => x.path))})`);
  if (newFolders.length) parts.push(`removed ${count(newFolders.length, 'new folder')} (${unique(newFolders.map((x) => x.path))})`);
  if (restored.length) parts.push(`restored ${count(restored.length, 'changed file')} (${unique(restored.map((x) => x.path))})`);
  let line = parts.length ? `Your folder is as it was: ${parts.join('; ')}.` : 'Your folder is as it was: the script wrote nothing there.';
  if (failed.length) line += ` Could not put back: ${failed.map((x) => `${x.path} (${x.action})`).join(', ')}.`;
  if (r.outside.length) line += ` Written outside the workspace, not undone: ${unique(r.outside)}.`;
  for (const n of r.notes) line += ` ${n}`;
  return line;
}

function unique(paths: string[]): string {
  const u = [...new Set(paths)];
  return u.length > 3 ? `${u.slice(0, 3).join(', ')} and ${u.length - 3} more` : u.join(', ');
}
