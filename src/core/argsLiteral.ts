/**
 * An LR given on the command line, in a launch.json `args` array or the lrFinder.script.args list: find the string
 * that holds the value (`"--lr", "0.01"` or `"--lr=0.01"`) so that only the number is rewritten. Pure.
 */
import { parseTree, findNodeAtLocation, type Node as JsonNode } from 'jsonc-parser';

export interface ArgValue {
  /** Offset and length of the number's characters in the text. */
  offset: number;
  length: number;
  text: string;
}

/** The value after `option` in an argument list: its index and where the number sits inside that argument. */
export function findOptionValue(args: readonly string[], option: string): { index: number; start: number; text: string } | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === option && i + 1 < args.length) return { index: i + 1, start: 0, text: args[i + 1] };
    if (args[i].startsWith(`${option}=`)) return { index: i, start: option.length + 1, text: args[i].slice(option.length + 1) };
  }
  return undefined;
}

/** In launch.json text: the number of `option` in the args of the configuration named `name`. */
export function locateLaunchArg(text: string, name: string | undefined, option: string): ArgValue | undefined {
  const root = parseTree(text, [], { allowTrailingComma: true, disallowComments: false });
  const configs = root && findNodeAtLocation(root, ['configurations']);
  for (const c of configs?.children ?? []) {
    const n = c.children?.find((p) => p.children?.[0]?.value === 'name')?.children?.[1]?.value;
    if (name !== undefined && n !== name) continue;
    const args = c.children?.find((p) => p.children?.[0]?.value === 'args')?.children?.[1];
    if (!args || args.type !== 'array' || !args.children) continue;
    const values = args.children.map((a: JsonNode) => (a.type === 'string' ? String(a.value) : ''));
    const hit = findOptionValue(values, option);
    if (!hit) continue;
    const node = args.children[hit.index];
    const raw = text.slice(node.offset + 1, node.offset + node.length - 1);
    if (raw !== values[hit.index] || !/^[0-9.eE+-]+$/.test(hit.text)) return undefined; // escapes: do not guess
    return { offset: node.offset + 1 + hit.start, length: hit.text.length, text: hit.text };
  }
  return undefined;
}
