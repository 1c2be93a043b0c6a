/**
 * The standalone tokenizer file (tokenizer.safetensors of `etegrec rqvae`, the studio's stored and
 * exported tokenizers, the bundle's) carries the CRC-32 of every tensor; reading checks them.
 */
import { describe, expect, it } from 'vitest';
import { readTokenizerFile } from '../../../src/cli/tokenizerFile.ts';
import { StudioError } from '../../../src/core/errors.ts';
import { crc32Hex } from '../../../src/core/io/checksum.ts';
import { readSafetensors, writeSafetensors } from '../../../src/core/io/safetensors.ts';
import { exportRqvaeSafetensors, readRqvaeSafetensors } from '../../../src/core/tokenizer/stateDict.ts';
import { tinyCheckpoint } from '../io/checkpointFixture.ts';

const tokenizerFile = () => {
  const c = tinyCheckpoint();
  return exportRqvaeSafetensors(c.current.tokenizer, c.tokenizerConfig, { epoch: '3' });
};

describe('tokenizer file checksums', () => {
  it('stores the CRC-32 of every tensor (a value computed here from the bytes) and reads back verified', () => {
    const bytes = tokenizerFile();
    const f = readSafetensors(bytes);
    const sums = JSON.parse(f.metadata.checksums) as Record<string, string>;
    expect(Object.keys(sums).sort()).toEqual(Object.keys(f.tensors).sort());
    for (const [k, t] of Object.entries(f.tensors)) expect(sums[k], k).toBe(crc32Hex(t.bytes));
    const warnings: string[] = [];
    const r = readRqvaeSafetensors(bytes, 'tokenizer.safetensors', { onWarning: (w) => warnings.push(w) });
    expect(r.verified).toBe(true);
    expect(warnings).toEqual([]);
    expect(r.metadata.epoch).toBe('3');
  });

  it('a flipped data byte is refused naming the file and the tensor (also through the CLI reader)', () => {
    const bytes = tokenizerFile();
    const [name, t] = Object.entries(readSafetensors(bytes).tensors).find(([, x]) => x.bytes.length > 8)!;
    const bad = bytes.slice();
    bad[t.bytes.byteOffset + 1] ^= 0x80;
    for (const read of [() => readRqvaeSafetensors(bad, 'tok.safetensors'), () => readTokenizerFile(bad, 'tok.safetensors')]) {
      let err: unknown;
      try { read(); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(StudioError);
      expect((err as StudioError).info).toMatchObject({ file: 'tok.safetensors', field: name });
      expect((err as StudioError).message).toMatch(/corrupted: its CRC-32 does not match/);
    }
  });

  it('a file written before checksums existed still loads, unverified, with a warning', () => {
    const f = readSafetensors(tokenizerFile());
    const { checksums: _none, ...md } = f.metadata;
    const old = writeSafetensors(f.tensors, md);
    const warnings: string[] = [];
    const r = readRqvaeSafetensors(old, 'old.safetensors', { onWarning: (w) => warnings.push(w) });
    expect(r.verified).toBe(false);
    expect(warnings).toEqual([expect.stringMatching(/^old\.safetensors: this tokenizer file was written without checksums .*cannot be verified/)]);
    const cli: string[] = [];
    expect(Object.keys(readTokenizerFile(old, 'old.safetensors', { onWarning: (w) => cli.push(w) }).state)).toEqual(Object.keys(r.state));
    expect(cli).toHaveLength(1);
  });

  it('malformed checksum metadata is refused, not ignored', () => {
    const f = readSafetensors(tokenizerFile());
    for (const text of ['not json', '[]', '{}']) {
      let err: unknown;
      try { readRqvaeSafetensors(writeSafetensors(f.tensors, { ...f.metadata, checksums: text }), 't.safetensors'); } catch (e) { err = e; }
      expect(err, text).toBeInstanceOf(StudioError);
    }
  });
});
