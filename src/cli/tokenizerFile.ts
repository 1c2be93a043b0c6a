/**
 * A pretrained tokenizer file for the CLI: the studio's tokenizer.safetensors or the reference's
 * RQ-VAE .pth (torch.save's zip, or the legacy pickle), told apart by their first bytes. The
 * safetensors file's per-tensor checksums are verified (one written without them is read with a
 * warning through `onWarning`); a .pth carries none (a zip .pth's members are CRC-checked).
 */
import type { RqvaeConfig } from '../core/models/rqvae.ts';
import type { NamedArray } from '../core/nn/params.ts';
import { StudioError } from '../core/errors.ts';
import { readRqvaePth, readRqvaeSafetensors, type ReadTokenizerOptions } from '../core/tokenizer/stateDict.ts';

const isZip = (b: Uint8Array) => b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
/** A pickle of protocol 2+ starts with PROTO (0x80). */
const isPickle = (b: Uint8Array) => b.length >= 2 && b[0] === 0x80 && b[1] >= 2 && b[1] <= 5;
/** safetensors: an 8-byte little-endian header length, then '{'. */
const isSafetensors = (b: Uint8Array) => b.length >= 9 && b[8] === 0x7b;

export function readTokenizerFile(bytes: Uint8Array, fileName: string, opts: ReadTokenizerOptions = {}): { state: Record<string, NamedArray>; config: RqvaeConfig } {
  if (isZip(bytes) || isPickle(bytes)) return readRqvaePth(bytes, fileName);
  if (isSafetensors(bytes)) return readRqvaeSafetensors(bytes, fileName, opts);
  throw new StudioError({
    code: 'unknown_format', file: fileName,
    message: 'Not a tokenizer file: expected tokenizer.safetensors (the studio\'s) or a reference RQ-VAE .pth (torch.save)',
    expected: 'safetensors or a PyTorch zip/pickle', found: `first bytes ${Array.from(bytes.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join(' ')}`,
  });
}
