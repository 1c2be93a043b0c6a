/**
 * Seeded byte mutations: bit flips, interesting bytes, inserts, deletes, duplicated chunks,
 * truncation, hostile numbers in text, and — for zip and gzip seeds — a mutation of a member's
 * content re-packed with valid checksums, so the readers behind the container are reached too.
 * Input i of a target is always the same bytes for the same seed (reproducible findings).
 */
import { gunzipSync, gzipSync, unzipSync, zipSync } from 'fflate';
import { Rng } from '../src/core/rng.ts';

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x22, 0x2c, 0x30, 0x39, 0x5b, 0x5d, 0x7b, 0x7d, 0x0a, 0x09, 0x25];
const NUMBERS = ['0', '-1', '-5', '4294967296', '9007199254740993', '1e308', '1e-320', 'NaN', 'Infinity', '-0', '999999999999', '2147483648', '3.5', '""', 'null', '[]', '{}'];

function hash(...parts: (string | number)[]): number {
  let h = 2166136261;
  for (const ch of parts.join('\u0000')) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h;
}

function mutateBytes(src: Uint8Array, rng: Rng): Uint8Array {
  let b: Uint8Array = src.slice();
  const ops = 1 + rng.int(4);
  for (let o = 0; o < ops; o++) {
    const pos = b.length ? rng.int(b.length) : 0;
    switch (rng.int(9)) {
      case 0: for (let k = 1 + rng.int(8); k > 0 && b.length; k--) b[rng.int(b.length)] ^= 1 << rng.int(8); break;
      case 1: for (let k = 1 + rng.int(4); k > 0 && b.length; k--) b[rng.int(b.length)] = INTERESTING[rng.int(INTERESTING.length)]; break;
      case 2: { const ins = Uint8Array.from({ length: 1 + rng.int(16) }, () => rng.int(256)); b = concat(b.subarray(0, pos), ins, b.subarray(pos)); break; }
      case 3: b = concat(b.subarray(0, pos), b.subarray(Math.min(b.length, pos + 1 + rng.int(64)))); break;
      case 4: { const from = rng.int(Math.max(1, b.length)); const chunk = b.slice(from, from + 1 + rng.int(256)); b = concat(b.subarray(0, pos), chunk, b.subarray(pos)); break; }
      case 5: b = b.slice(0, pos); break;
      case 6: case 7: b = replaceNumber(b, rng); break;
      case 8: b = concat(b, Uint8Array.from({ length: 1 + rng.int(32) }, () => rng.int(256))); break;
    }
  }
  return b;
}

/** A run of ASCII digits (or the word after a colon) replaced by a hostile number. */
function replaceNumber(b: Uint8Array, rng: Rng): Uint8Array {
  const starts: number[] = [];
  for (let i = 0; i < b.length && starts.length < 4096; i++) if (b[i] >= 0x30 && b[i] <= 0x39 && (i === 0 || b[i - 1] < 0x30 || b[i - 1] > 0x39)) starts.push(i);
  if (!starts.length) return b;
  const s = starts[rng.int(starts.length)];
  let e = s;
  while (e < b.length && ((b[e] >= 0x30 && b[e] <= 0x39) || b[e] === 0x2e)) e++;
  return concat(b.subarray(0, s), new TextEncoder().encode(NUMBERS[rng.int(NUMBERS.length)]), b.subarray(e));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

const isZip = (b: Uint8Array) => b.length > 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
const isGzip = (b: Uint8Array) => b.length > 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Input `index` of a target: one of its seeds, mutated (inside the container half of the time). */
export function fuzzInput(target: string, seed: number, index: number, seeds: Uint8Array[]): Uint8Array {
  const rng = new Rng(hash(target, seed, index));
  const base = seeds[rng.int(seeds.length)];
  if (isZip(base) && rng.next() < 0.5) {
    const members: Record<string, Uint8Array> = unzipSync(base);
    const names = Object.keys(members);
    const name = names[rng.int(names.length)];
    members[name] = mutateBytes(members[name], rng);
    return zipSync(members);
  }
  if (isGzip(base) && rng.next() < 0.5) return gzipSync(mutateBytes(gunzipSync(base), rng));
  return mutateBytes(base, rng);
}
