// The later-stage CLI commands end to end on the real Instruments data: prepare → sasrec → rqvae,
// checked against the spec's file layouts and state-dict keys, not against the code's own output.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNpy } from '../../src/core/io/npy.ts';
import { readSafetensors } from '../../src/core/io/safetensors.ts';

const ROOT = resolve(__dirname, '../..');
const BIN = join(ROOT, 'bin/etegrec.mjs');
const INSTRUMENTS = resolve(ROOT, '../shared/data/amazon2014_musical_instruments/reviews_Musical_Instruments_5.json.gz');
const KEYS = resolve(ROOT, '../shared/conformance/state-dict-keys.json');
const work = mkdtempSync(join(tmpdir(), 'etegrec-stages-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 170_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const METRIC_KEYS = ['recall@5', 'recall@10', 'ndcg@5', 'ndcg@10'];

describe.runIf(existsSync(INSTRUMENTS))('etegrec sasrec and rqvae', () => {
  const data = join(work, 'data');
  const emb = join(work, 'emb');
  const tok = join(work, 'tok');

  it('sasrec writes an N × hidden float32 table and the metrics layout of the issue', () => {
    expect(cli('prepare', INSTRUMENTS, '--out', data, '--name', 'Inst').code).toBe(0);
    const r = cli('sasrec', '--data', data, '--out', emb, '--preset', 'quick', '--epochs', '1', '--max-steps', '3', '--quiet');
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const npy = parseNpy(readFileSync(join(emb, 'Inst_emb_64.npy')));
    expect(npy.dtype).toBe('<f4');
    expect(npy.shape).toEqual([900, 64]);
    const m = JSON.parse(readFileSync(join(emb, 'metrics.json'), 'utf8'));
    for (const part of [m.test, m.valid, m.baselines.popularity]) {
      expect(Object.keys(part).filter((k) => METRIC_KEYS.includes(k)).sort()).toEqual([...METRIC_KEYS].sort());
      for (const k of METRIC_KEYS) expect(part[k]).toBeGreaterThanOrEqual(0);
      expect(part['recall@10']).toBeGreaterThanOrEqual(part['recall@5']);
      expect(part['recall@10']).toBeGreaterThanOrEqual(part['ndcg@10']);
    }
  }, 180_000);

  it('rqvae writes reference-keyed safetensors, a code.json of N+1 unique codes and consistent metrics', () => {
    const r = cli('rqvae', '--data', data, '--emb', join(emb, 'Inst_emb_64.npy'), '--out', tok, '--epochs', '10', '--eval-step', '5', '--quiet');
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const expected = JSON.parse(readFileSync(KEYS, 'utf8')).tokenizer_single_256 as Record<string, number[]>;
    const st = readSafetensors(new Uint8Array(readFileSync(join(tok, 'tokenizer.safetensors'))));
    const names = Object.keys(st.tensors).sort();
    expect(names).toEqual(Object.keys(expected).sort());

    const codes = JSON.parse(readFileSync(join(tok, 'code.json'), 'utf8')) as number[][];
    expect(codes.length).toBe(901);
    expect(codes[0]).toEqual([-1, -1, -1, -1]);
    const full = new Set(codes.slice(1).map((c) => c.join(',')));
    expect(full.size).toBe(900);
    // collision_rate is defined on the 3-level prefix before the suffix (spec §4.4).
    const prefixes = new Set(codes.slice(1).map((c) => c.slice(0, 3).join(',')));
    const m = JSON.parse(readFileSync(join(tok, 'metrics.json'), 'utf8'));
    expect(m.collision_rate).toBeCloseTo((900 - prefixes.size) / 900, 10);
    expect(m.gini.per_level).toHaveLength(3);
    expect(m.gini.mean).toBeCloseTo(m.gini.per_level.reduce((a: number, b: number) => a + b, 0) / 3, 10);
  }, 180_000);
});
