/**
 * Output folders are checked before any work: a folder already holding a prepared dataset is
 * refused unless --force (which replaces it, keeping unrelated files), pseudo file systems and
 * files are refused at once, staging folders of killed runs are cleaned, and SIGTERM cancels like
 * Ctrl-C with nothing left behind.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanStaleStaging } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';

const work = mkdtempSync(join(tmpdir(), 'etegrec-out-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A small 5-core-surviving interaction file (amazon2014 lines). */
function reviews(name: string, users: number, items = 8): string {
  const lines: string[] = [];
  for (let u = 0; u < users; u++) for (let i = 0; i < items; i++) lines.push(JSON.stringify({ reviewerID: `U${u}`, asin: `I${(u + i) % items}`, unixReviewTime: 1000 + i, overall: 5 }));
  const p = join(work, name);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

async function cli(...args: string[]): Promise<{ code: number; stderr: string; ms: number }> {
  let stderr = '';
  const t = Date.now();
  const code = await main(args, { stdout: () => {}, stderr: (s) => { stderr += s; } });
  return { code, stderr, ms: Date.now() - t };
}

describe('CLI output folders', () => {
  it('refuses a folder that already holds a prepared dataset; --force replaces it and keeps other files', async () => {
    const out = join(work, 'ds');
    expect((await cli('prepare', reviews('a.json', 12), '--out', out, '--name', 'A', '--quiet')).code).toBe(0);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const before = readFileSync(join(out, 'A.inter'));
    const refused = await cli('prepare', reviews('b.json', 14), '--out', out, '--name', 'B', '--quiet');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already holds a prepared dataset \(A\..*\); pass --force/);
    expect(readdirSync(out).filter((n) => n.startsWith('B.'))).toEqual([]);
    expect(readFileSync(join(out, 'A.inter'))).toEqual(before);
    const forced = await cli('prepare', join(work, 'b.json'), '--out', out, '--name', 'B', '--quiet', '--force');
    expect(forced.code).toBe(0);
    const names = readdirSync(out);
    expect(names.filter((n) => n.startsWith('A.'))).toEqual([]);
    expect(names).toContain('B.inter');
    expect(names).toContain('notes.txt');
    expect(names.filter((n) => n.endsWith('.emb_map.json'))).toEqual(['B.emb_map.json']);
  });

  it('refuses pseudo file systems and files at once, before reading the input', async () => {
    const input = reviews('c.json', 12);
    const proc = await cli('prepare', input, '--out', '/proc/etegrec-test/out', '--quiet');
    expect(proc.code).toBe(1);
    expect(proc.stderr).toMatch(/pseudo file system/);
    expect(proc.ms).toBeLessThan(5000);
    const file = join(work, 'a-file');
    writeFileSync(file, 'x');
    const onFile = await cli('train', '--data', work, '--emb', 'x.npy', '--tokenizer', 'x.safetensors', '--out', file);
    expect(onFile.code).toBe(1);
    expect(onFile.stderr).toMatch(/--out exists and is not a directory/);
  });

  it('cleans the staging folders of killed runs (dead process id), not those of running ones', async () => {
    const parent = join(work, 'stale');
    mkdirSync(parent);
    const out = join(parent, 'run');
    const dead = join(parent, '.run.tmp-2147483646-abc');
    const live = join(parent, `.run.tmp-${process.pid}-def`);
    mkdirSync(dead);
    mkdirSync(live);
    writeFileSync(join(dead, 'big.bin'), Buffer.alloc(1024));
    expect(await cleanStaleStaging(out)).toEqual(['.run.tmp-2147483646-abc']);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it('SIGTERM cancels like Ctrl-C: exit 130, nothing written', async () => {
    const input = reviews('d.json', 3000, 20);
    const out = join(work, 'term');
    const run = cli('prepare', input, '--out', out, '--quiet');
    setTimeout(() => process.emit('SIGTERM'), 30);
    const r = await run;
    expect(r.code).toBe(130);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});
