/**
 * The integrity checksums stored next to every tensor blob of a safetensors file we write (joint
 * checkpoint, the bundle's recommender and tokenizer, the standalone tokenizer file): the zip
 * reader's CRC-32 (IEEE 802.3) of each tensor's bytes as hex, in `__metadata__.checksums`.
 */
import { StudioError } from '../errors.ts';
import type { SafeTensor } from './safetensors.ts';
import { crc32 } from './zip.ts';

export { crc32 };

/** The `__metadata__` key holding tensor name → CRC-32 (8 hex digits) of its bytes. */
export const CHECKSUMS_KEY = 'checksums';

/** CRC-32 as 8 lowercase hex digits. */
export function crc32Hex(bytes: Uint8Array): string {
  return crc32(bytes).toString(16).padStart(8, '0');
}

/** `__metadata__.checksums` text of a set of tensors (name → CRC-32 of its bytes). */
export function tensorChecksums(tensors: Record<string, SafeTensor>): string {
  const sums: Record<string, string> = {};
  for (const [name, t] of Object.entries(tensors)) sums[name] = crc32Hex(t.bytes);
  return JSON.stringify(sums);
}

/**
 * Checks every tensor's CRC-32 against the stored checksums (`text`, the metadata value). A file
 * without any (written before checksums existed, or by another tool) is accepted: `onWarning`
 * is told that its tensors are unverified, and the result is false. True when all were verified.
 */
export function verifyTensorChecksums(
  tensors: Record<string, SafeTensor>, text: string | undefined, fileName: string, onWarning?: (message: string) => void, what = 'file',
): boolean {
  const field = `__metadata__.${CHECKSUMS_KEY}`;
  if (text === undefined) {
    onWarning?.(`${fileName}: this ${what} was written without checksums (an older version or another tool); its tensors cannot be verified`);
    return false;
  }
  const malformed = (message: string, extra: { field: string; expected?: string; found?: string }) =>
    new StudioError({ code: 'malformed_input', file: fileName, message, ...extra });
  let sums: unknown;
  try {
    sums = JSON.parse(text);
  } catch (e) {
    throw malformed(`The tensor checksums are not valid JSON (${(e as Error).message})`, { field });
  }
  if (!sums || typeof sums !== 'object' || Array.isArray(sums)) throw malformed('The tensor checksums are not an object', { field });
  const table = sums as Record<string, unknown>;
  // a checksum of a tensor the file lacks: the reader reports that tensor as missing, by name
  for (const [name, t] of Object.entries(tensors)) {
    const want = Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
    if (typeof want !== 'string' || !/^[0-9a-f]{8}$/.test(want)) throw malformed(`Tensor ${name} has no valid checksum`, { field: name, expected: '8 hex digits', found: JSON.stringify(want) ?? 'none' });
    const got = crc32Hex(t.bytes);
    if (got !== want) throw malformed(`Tensor ${name} is corrupted: its CRC-32 does not match the stored checksum`, { field: name, expected: want, found: got });
  }
  return true;
}
