/** JSON/JSONC (.json/.jsonc): jsonc-parser's tree with offsets; comments and trailing commas allowed. */
import { parseTree, type Node as JsonNode, type ParseError } from 'jsonc-parser';
import { locateInTree, type TreeEntry, type TreeNode } from './tree';
import type { Found } from './types';

/** jsonc-parser reports a BOM as an error; a space in its place keeps every offset. */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? ' ' + text.slice(1) : text;
}

export function parseJson(text: string): JsonNode | undefined {
  const errors: ParseError[] = [];
  return parseTree(withoutBom(text), errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: true });
}

function toTree(node: JsonNode | undefined): TreeNode {
  switch (node?.type) {
    case 'object': {
      const entries: TreeEntry[] = [];
      for (const prop of node.children ?? []) {
        const [k, v] = prop.children ?? [];
        if (k?.type === 'string' && v) entries.push({ key: String(k.value), value: toTree(v) });
      }
      return { type: 'map', entries };
    }
    case 'array': return { type: 'seq', items: (node.children ?? []).map(toTree) };
    case 'number': return { type: 'number', offset: node.offset, length: node.length };
    case 'string': return { type: 'string', value: String(node.value), offset: node.offset + 1, length: node.length - 2 };
    default: return { type: 'other' };
  }
}

export function locateJson(text: string): Found[] {
  return locateInTree(withoutBom(text), [toTree(parseJson(text))]);
}
