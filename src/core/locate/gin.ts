/**
 * gin configs (.gin): bindings `configurable.parameter = value`, with a module (`tf.train.AdamOptimizer.learning_rate`)
 * or a scope (`train/AdamOptimizer.learning_rate`), and macros `LEARNING_RATE = 1e-3` (what `%LEARNING_RATE` refers to).
 * gin's syntax is Python's (comments, strings, values that continue inside brackets), so the Python tokenizer reads it.
 * The bindings of one configurable form a map, so `create_optimizer.name = 'adam'` says what the map is, as a `type:`
 * does in YAML. A value is a number only when it is one bare number. `import`, `from` and `include` lines are skipped.
 * Pure.
 */
import { tokenizePython } from './python';
import type { Tok } from './tokens';
import { locateInTree, type TreeMap, type TreeNode } from './tree';
import type { Found } from './types';

/** The statements: token runs between logical newlines. */
function statements(toks: Tok[]): Tok[][] {
  const out: Tok[][] = [];
  let cur: Tok[] = [];
  for (const t of toks) {
    if (t.type !== 'newline') { cur.push(t); continue; }
    if (cur.length) out.push(cur);
    cur = [];
  }
  if (cur.length) out.push(cur);
  return out;
}

/** `scope/module.Configurable.param` up to `=`: the binding's text, or undefined for anything else. */
function bindingKey(st: Tok[]): { key: string; eq: number } | undefined {
  let key = '';
  let j = 0;
  for (; j < st.length; j++) {
    const t = st[j];
    const separator = t.type === 'op' && (t.value === '.' || t.value === '/');
    if ((j % 2 === 0) !== (t.type === 'name')) break;
    if (j % 2 === 1 && !separator) break;
    key += t.value;
  }
  const eq = st[j];
  return j % 2 === 1 && eq?.type === 'op' && eq.value === '=' ? { key, eq: j } : undefined;
}

/** The value tokens as a tree scalar: one number, one plain string, or anything else. */
function valueNode(text: string, value: Tok[]): TreeNode {
  if (value.length !== 1) return { type: 'other' };
  const t = value[0];
  if (t.type === 'number' && t.decimal) return { type: 'number', offset: t.start, length: t.end - t.start };
  if (t.type === 'string' && t.str !== undefined) {
    const open = t.value.indexOf(t.str) >= 0 ? t.start + t.value.indexOf(t.str) : -1;
    return open >= 0 && text.slice(open, open + t.str.length) === t.str ? { type: 'string', value: t.str, offset: open, length: t.str.length } : { type: 'string', value: t.str };
  }
  return { type: 'other' };
}

export function parseGin(text: string): TreeMap {
  const root: TreeMap = { type: 'map', entries: [] };
  for (const st of statements(tokenizePython(text))) {
    if (st[0].type === 'name' && ['import', 'from', 'include'].includes(st[0].value)) continue;
    const b = bindingKey(st);
    if (!b) continue;
    const value = valueNode(text, st.slice(b.eq + 1));
    const dot = b.key.lastIndexOf('.');
    if (dot < 0 || b.key.lastIndexOf('/') > dot) { // a macro
      root.entries.push({ key: b.key, value });
      continue;
    }
    const selector = b.key.slice(0, dot);
    let map = root.entries.find((e) => e.key === selector && e.value.type === 'map')?.value as TreeMap | undefined;
    if (!map) {
      map = { type: 'map', entries: [] };
      root.entries.push({ key: selector, value: map });
    }
    map.entries.push({ key: b.key.slice(dot + 1), value });
  }
  return root;
}

/**
 * A schedule's value that is the LR: trax's `multifactor.constant`, `lr_schedules.warmup_and_rsqrt_decay.max_value`,
 * `...learning_rate_schedule.peak_value`: a parameter named for a value of a configurable named for an LR schedule.
 */
const SCHEDULE_CONFIGURABLE = /(^|[./_])(multifactor|lr_schedules?|learning_rate_schedules?|lr_schedule_\w+)([./_]|$)/i;
const SCHEDULE_VALUE = /^(constant|max_value|peak_value|value|base_value|init_value|initial_value|base_learning_rate)$/;
const SCHEDULE_SCORE = 80;

export function locateGin(text: string): Found[] {
  const root = parseGin(text);
  const found = locateInTree(text, [root]);
  for (const { key: selector, value } of root.entries) {
    if (value.type !== 'map' || !SCHEDULE_CONFIGURABLE.test(selector)) continue;
    for (const { key, value: v } of value.entries) {
      if (!SCHEDULE_VALUE.test(key) || v.type !== 'number' || v.offset === undefined || v.length === undefined) continue;
      found.push({ offset: v.offset, length: v.length, key: `${selector}.${key}`, score: SCHEDULE_SCORE });
    }
  }
  return found;
}
