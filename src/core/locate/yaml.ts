/**
 * YAML (.yaml/.yml): the `yaml` library's nodes and their exact source ranges, every key of every map at any depth, all
 * documents of a stream. Quoted strings (`lr: "1e-3"`), tagged strings (`!!str 0.5`) and aliases are never numbers.
 */
import { isMap, isScalar, isSeq, parseAllDocuments } from 'yaml';
import { locateInTree, type TreeNode } from './tree';
import type { Found } from './types';

function toTree(node: unknown): TreeNode {
  if (isMap(node)) {
    const entries = [];
    for (const pair of node.items) {
      if (!isScalar(pair.key) || pair.key.value === null || pair.key.value === undefined) continue;
      entries.push({ key: String(pair.key.value), value: toTree(pair.value) });
    }
    return { type: 'map', entries };
  }
  if (isSeq(node)) return { type: 'seq', items: node.items.map(toTree) };
  if (isScalar(node) && node.range) {
    const [start, end] = node.range;
    if (typeof node.value === 'number') return node.type === 'PLAIN' ? { type: 'number', offset: start, length: end - start } : { type: 'other' };
    if (typeof node.value === 'string') {
      if (node.type === 'PLAIN') return { type: 'string', value: node.value, offset: start, length: end - start };
      if (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') return { type: 'string', value: node.value, offset: start + 1, length: end - start - 2 };
      return { type: 'string', value: node.value };
    }
  }
  return { type: 'other' };
}

export function locateYaml(text: string): Found[] {
  const docs = parseAllDocuments(text, { uniqueKeys: false, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [];
  return locateInTree(text, list.map((doc) => toTree(doc.contents)));
}
