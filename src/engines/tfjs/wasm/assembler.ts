/**
 * A tiny WebAssembly module builder: the binary encoding of the few instructions the SIMD helper loops (./simd) use,
 * and assembly of functions into a module that imports the wasm backend's memory, so that the loops work on tensors
 * in place (their arguments are byte offsets into the backend's heap).
 *
 * Instruction helpers return byte arrays to be spread into a function body; locals are referred to by index
 * (parameters first). Loops are written do-while style: LOOP ... nextLoop(counter, step, limit).
 */
import type { EmscriptenModuleLike } from './tensors';

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export const bytesOf = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];

// instructions
export const get = (i: number) => [0x20, ...uleb(i)];
export const set = (i: number) => [0x21, ...uleb(i)];
export const tee = (i: number) => [0x22, ...uleb(i)];
export const i32c = (n: number) => [0x41, ...sleb(n)];
export const ADD = [0x6a];
export const MUL = [0x6c];
export const LT_U = [0x49];
export const LOOP = [0x03, 0x40];
export const END = [0x0b];
export const brIf = (depth: number) => [0x0d, ...uleb(depth)];
export const simd = (code: number) => [0xfd, ...uleb(code)];
export const LOAD = [...simd(0x00), 0, 0]; // v128.load align=1 offset=0
export const loadAt = (offset: number) => [...simd(0x00), 0, ...uleb(offset)];
export const F32_LOAD = [0x2a, 0, 0];
export const F32_STORE = [0x38, 0, 0];
export const BLOCK = [0x02, 0x40];
export const EQZ = [0x45];
export const GE_U = [0x4f];
export const AND_I32 = [0x71];
export const SELECT = [0x1b];
export const STORE = [...simd(0x0b), 0, 0]; // v128.store
export const v128c = (bytes: number[]) => [...simd(0x0c), ...bytes];
export const F32X4_GT = simd(0x44);
export const AND = simd(0x4e);
export const ANDNOT = simd(0x4f); // a & ~b
export const OR = simd(0x50);
export const BITSELECT = simd(0x52); // (a & c) | (b & ~c)
export const F32X4_SPLAT = simd(0x13);
export const F32X4_SQRT = simd(0xe3);
export const F32X4_ADD = simd(0xe4);
export const F32X4_MUL = simd(0xe6);
export const F32X4_DIV = simd(0xe7);
export const F64X2_ADD = simd(0xf0);
export const F64X2_PROMOTE_LOW = simd(0x5f);
export const SHUFFLE_HIGH_TO_LOW = [...simd(0x0d), 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

/** `counter += step; br_if (counter < limit)` closing a do-while loop. */
export const nextLoop = (counter: number, step: number[], limit: number[]) => [...get(counter), ...step, ...ADD, ...tee(counter), ...limit, ...LT_U, ...brIf(0), ...END];

/** One exported function: parameter types, local declarations (count, type) and its instructions. */
export interface FuncDef { name: string; params: number[]; locals: Array<[number, number]>; body: number[] }

export function assemble(funcs: FuncDef[], shared: boolean): Uint8Array {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((t) => [t])), 0]);
  // memory import "env"."memory": shared memories need a maximum (4 GiB covers any wasm32 memory).
  const limits = shared ? [0x03, ...uleb(0), ...uleb(65536)] : [0x00, ...uleb(0)];
  const imports = vec([[...bytesOf('env'), ...bytesOf('memory'), 0x02, ...limits]]);
  const code = funcs.map((f) => {
    const body = [...vec(f.locals.map(([n, t]) => [...uleb(n), t])), ...f.body, ...END];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(7, vec(funcs.map((f, i) => [...bytesOf(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(code)),
  ]);
}

/** The WebAssembly global (not in this project's TypeScript lib). */
interface WebAssemblyApi {
  Memory: abstract new (...args: never[]) => { readonly buffer: ArrayBufferLike };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}

/**
 * `funcs` assembled into a module that imports the memory of the wasm backend's Emscripten module, instantiated; its
 * exports take byte offsets into that heap. Null if there is no WebAssembly global or the heap's memory is not found;
 * throws if the runtime cannot compile the module (e.g. no WebAssembly SIMD).
 */
export function instantiateOnHeap(funcs: FuncDef[], module: EmscriptenModuleLike): Record<string, unknown> | null {
  const wa = (globalThis as unknown as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  const candidates = [module.wasmMemory, ...Object.values(module.asm ?? {})];
  const memory = wa && candidates.find((m) => m instanceof wa.Memory && (m as { buffer: unknown }).buffer === module.HEAPU8.buffer) as
    { buffer: ArrayBufferLike } | undefined;
  if (!wa || !memory) return null;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const instance = new wa.Instance(new wa.Module(assemble(funcs, shared)), { env: { memory } });
  return instance.exports;
}
