/**
 * The integrity checksums stored next to every tensor blob of a joint checkpoint and bundle: the
 * zip reader's CRC-32 (IEEE 802.3) as hex.
 */
import { crc32 } from './zip.ts';

export { crc32 };

/** CRC-32 as 8 lowercase hex digits. */
export function crc32Hex(bytes: Uint8Array): string {
  return crc32(bytes).toString(16).padStart(8, '0');
}
