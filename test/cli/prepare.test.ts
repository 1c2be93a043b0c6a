import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');
const BIN = join(ROOT, 'bin/etegrec.mjs');
const INSTRUMENTS = resolve(ROOT, '../shared/data/amazon2014_musical_instruments/reviews_Musical_Instruments_5.json.gz');
const CONF = resolve(ROOT, '../shared/conformance/data-prep-instrument2014');

const work = mkdtempSync(join(tmpdir(), 'etegrec-cli-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.includes('.tmp-'));
}

describe('etegrec prepare', () => {
  it.runIf(existsSync(INSTRUMENTS) && existsSync(CONF))('writes the reference files identical to the conformance data', () => {
    const out = join(work, 'instruments');
    const r = cli('prepare', INSTRUMENTS, '--out', out, '--name', 'Instrument2014', '--format', 'amazon2014', '--kcore', '5', '--max-len', '50');
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1429 users, 900 items, 10261 interactions');
    for (const f of ['inter', 'train.jsonl', 'valid.jsonl', 'test.jsonl']) {
      const ours = readFileSync(join(out, `Instrument2014.${f}`));
      const ref = gunzipSync(readFileSync(join(CONF, `Instrument2014.${f}.gz`)));
      expect(Buffer.compare(ours, ref), f).toBe(0);
    }
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as Record<string, unknown>;
    const ref = JSON.parse(readFileSync(join(CONF, 'dataset_stats.json'), 'utf8')) as Record<string, unknown>;
    for (const [k, v] of Object.entries(ref)) expect(stats[k]).toBe(v);
    expect(stats.sparsity).toBeGreaterThan(0.99);
    const map = JSON.parse(readFileSync(join(out, 'Instrument2014.emb_map.json'), 'utf8')) as Record<string, number>;
    expect(Object.keys(map)).toHaveLength(901);
    expect(r.stderr).toMatch(/parse/);
    expect(leftovers(work)).toEqual([]);
    // the output directory is itself a reference bundle: re-preparing it gives the same files
    const again = join(work, 'again');
    const r2 = cli('prepare', out, '--out', again, '--name', 'Instrument2014', '--format', 'reference', '--quiet');
    expect(r2.code).toBe(0);
    for (const f of ['inter', 'train.jsonl', 'emb_map.json']) {
      expect(readFileSync(join(again, `Instrument2014.${f}`), 'utf8')).toBe(readFileSync(join(out, `Instrument2014.${f}`), 'utf8'));
    }
    // a .zip of the sample files only (no .inter) is detected and rebuilt from the samples
    const zipPath = join(work, 'bundle.zip');
    const z: Record<string, Uint8Array> = {};
    for (const f of ['train.jsonl', 'valid.jsonl', 'test.jsonl', 'emb_map.json']) z[`data/Instrument2014.${f}`] = readFileSync(join(out, `Instrument2014.${f}`));
    writeFileSync(zipPath, zipSync(z));
    const fromZip = join(work, 'from-zip');
    const r3 = cli('prepare', zipPath, '--out', fromZip, '--quiet');
    expect(r3.code).toBe(0);
    expect(r3.stdout).toContain('Prepared Instrument2014: 1429 users, 900 items, 10261 interactions');
    expect(readFileSync(join(fromZip, 'Instrument2014.test.jsonl'), 'utf8')).toBe(readFileSync(join(out, 'Instrument2014.test.jsonl'), 'utf8'));
  });

  it('fails on a file of malformed lines: message, exit 1, nothing written', () => {
    const bad = join(work, 'bad.json');
    writeFileSync(bad, '{"reviewerID": "A", "asin": "B"\n{oops\n');
    const out = join(work, 'bad-out');
    const r = cli('prepare', bad, '--out', out, '--format', 'amazon2014');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bad.json');
    expect(r.stderr).toMatch(/malformed/);
    expect(existsSync(out)).toBe(false);
    expect(leftovers(work)).toEqual([]);
  });

  it('fails when nothing is left after the k-core filter, without partial output', () => {
    const small = join(work, 'small.json');
    writeFileSync(small, ['A', 'B'].map((u) => JSON.stringify({ reviewerID: u, asin: 'X', unixReviewTime: 1, overall: 5 })).join('\n'));
    const out = join(work, 'small-out');
    const r = cli('prepare', small, '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Nothing is left after filtering: 2 interactions/);
    expect(existsSync(out)).toBe(false);
  });

  it('rejects an unknown --format value with the list of formats (exit 2)', () => {
    const r = cli('prepare', 'x.json', '--out', join(work, 'o'), '--format', 'amazon2099');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown format "amazon2099"');
    expect(r.stderr).toContain('amazon2014');
  });

  it('reports an unrecognised file format (exit 1)', () => {
    const f = join(work, 'weird.json');
    writeFileSync(f, '{"foo": 1}\n{"bar": 2}\n');
    const r = cli('prepare', f, '--out', join(work, 'weird-out'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Unrecognised interaction file format/);
  });

  it('prints usage for unknown commands and options (exit 2) and help (exit 0)', () => {
    const a = cli('frobnicate');
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('Usage: etegrec <command>');
    const b = cli('prepare', 'x', '--out', 'y', '--bogus');
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('--bogus');
    expect(b.stderr).toContain('Usage: etegrec prepare');
    const c = cli('prepare', '--help');
    expect(c.code).toBe(0);
    expect(c.stdout).toContain('--max-len');
    const d = cli('prepare', 'x', '--out', 'y', '--kcore', 'five');
    expect(d.code).toBe(2);
    expect(d.stderr).toContain('--kcore');
  });
});
