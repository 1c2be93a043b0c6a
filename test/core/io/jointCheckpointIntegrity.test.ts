/** Issue 15, class "checkpoints and bundles": schema-checked metadata and per-tensor CRC-32. */
import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../src/core/errors.ts';
import { crc32, crc32Hex } from '../../../src/core/io/checksum.ts';
import { packJointCheckpoint, readJointBundle, unpackJointCheckpoint, writeBundleFiles } from '../../../src/core/io/jointBundle.ts';
import { readSafetensors, writeSafetensors } from '../../../src/core/io/safetensors.ts';
import { tinyCheckpoint as checkpoint } from './checkpointFixture.ts';

/** The packed checkpoint with `__metadata__.<key>` (decoded JSON) changed by `edit`. */
function withMetadata(bytes: Uint8Array, key: 'state' | 'index', edit: (o: Record<string, unknown>) => void): Uint8Array {
  const f = readSafetensors(bytes);
  const o = JSON.parse(f.metadata[key]) as Record<string, unknown>;
  edit(o);
  return writeSafetensors(f.tensors, { ...f.metadata, [key]: JSON.stringify(o) });
}

function refusal(bytes: Uint8Array): StudioError {
  try {
    unpackJointCheckpoint(bytes, 'ckpt.safetensors');
  } catch (e) {
    expect(e).toBeInstanceOf(StudioError);
    return e as StudioError;
  }
  throw new Error('the checkpoint was accepted');
}

describe('joint checkpoint integrity', () => {
  it('CRC-32 matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32Hex(new Uint8Array(0))).toBe('00000000');
  });

  it('round-trips and stores a checksum for every tensor', () => {
    const bytes = packJointCheckpoint(checkpoint());
    const f = readSafetensors(bytes);
    const sums = JSON.parse(f.metadata.checksums) as Record<string, string>;
    expect(Object.keys(sums).sort()).toEqual(Object.keys(f.tensors).sort());
    const warnings: string[] = [];
    expect(unpackJointCheckpoint(bytes, 'c', { onWarning: (w) => warnings.push(w) })).toEqual(checkpoint());
    expect(warnings).toEqual([]);
  });

  it('refuses malformed metadata with a StudioError naming the field (no raw TypeError)', () => {
    const bytes = packJointCheckpoint(checkpoint());
    const cases: [string, 'state' | 'index', (o: Record<string, unknown>) => void][] = [
      ['state.rngState', 'state', (o) => delete o.rngState],
      ['state.config.t5', 'state', (o) => delete (o.config as Record<string, unknown>).t5],
      ['index.current', 'index', (o) => (o.current = null)],
      ['state.nextEpoch', 'state', (o) => (o.nextEpoch = -5)],
      ['state.nextEpoch', 'state', (o) => (o.nextEpoch = 1e9)],
      ['state.stage', 'state', (o) => (o.stage = 'warmup')],
      ['state.rngState.dropout', 'state', (o) => ((o.rngState as Record<string, unknown>).dropout = 2 ** 32)],
      ['state.recommenderConfig.t5', 'state', (o) => ((o.recommenderConfig as Record<string, unknown>).t5 = 'x')],
      ['state.config.lr_rec', 'state', (o) => ((o.config as Record<string, unknown>).lr_rec = -1)],
      ['index.optimizer.recommender.slots', 'index', (o) => (((o.optimizer as Record<string, Record<string, unknown>>).recommender.slots = 1.5))],
      ['index.current.codesRows', 'index', (o) => ((o.current as Record<string, unknown>).codesRows = 2)],
    ];
    for (const [field, key, edit] of cases) {
      const e = refusal(withMetadata(bytes, key, edit));
      expect(e.info.file).toBe('ckpt.safetensors');
      expect(e.info.field, e.message).toBe(field);
    }
  });

  it('refuses tensors that do not fit the config, and codes out of range', () => {
    const c = checkpoint();
    const bad = { ...c, current: { ...c.current, recommender: { ...c.current.recommender, extra: { shape: [1], data: new Float32Array(1) } } } };
    expect(refusal(packJointCheckpoint(bad)).message).toMatch(/current\.recommender tensors do not fit the config: 0 missing, 1 unexpected \(extra\)/);
    const codes = c.current.codes.slice();
    codes[5] = 4;
    expect(refusal(packJointCheckpoint({ ...c, current: { ...c.current, codes } })).info.field).toBe('current.codes');
  });

  it('a flipped data byte is refused, naming the tensor', () => {
    const bytes = packJointCheckpoint(checkpoint());
    const t = readSafetensors(bytes).tensors['current.recommender.model.shared.weight'];
    const flipped = bytes.slice();
    flipped[t.bytes.byteOffset + 5] ^= 0x10;
    const e = refusal(flipped);
    expect(e.info.field).toBe('current.recommender.model.shared.weight');
    expect(e.message).toMatch(/corrupted: its CRC-32 does not match/);
  });

  it('an older checkpoint without checksums is accepted with a warning', () => {
    const f = readSafetensors(packJointCheckpoint(checkpoint()));
    const { checksums: _gone, ...md } = f.metadata;
    const warnings: string[] = [];
    expect(unpackJointCheckpoint(writeSafetensors(f.tensors, md), 'old.safetensors', { onWarning: (w) => warnings.push(w) })).toEqual(checkpoint());
    expect(warnings).toEqual([expect.stringMatching(/old\.safetensors: .*without checksums/)]);
  });

  it('bundle safetensors files carry checksums: a flipped byte is refused, none stored is a warning', () => {
    const c = checkpoint();
    const files = writeBundleFiles({ recommender: c.current.recommender, recommenderConfig: c.recommenderConfig, tokenizer: c.current.tokenizer, tokenizerConfig: c.tokenizerConfig, codes: c.current.codes, config: c.config, history: [] });
    expect(readJointBundle(files).report.warnings.filter((w) => /checksum/.test(w))).toEqual([]);
    for (const name of ['recommender.safetensors', 'tokenizer.safetensors']) {
      const t = Object.entries(readSafetensors(files[name]).tensors).find(([, x]) => x.bytes.length > 8)!;
      const bad = files[name].slice();
      bad[t[1].bytes.byteOffset + 2] ^= 0x40;
      let err: unknown;
      try { readJointBundle({ ...files, [name]: bad }); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(StudioError);
      expect((err as StudioError).info).toMatchObject({ file: name, field: t[0] });
      const f = readSafetensors(files[name]);
      const { checksums: _gone, ...md } = f.metadata;
      const old = readJointBundle({ ...files, [name]: writeSafetensors(f.tensors, md) });
      expect(old.report.warnings).toContainEqual(expect.stringMatching(new RegExp(`${name.replace('.', '\\.')}: this (tokenizer )?file was written without checksums`)));
    }
  });
});
