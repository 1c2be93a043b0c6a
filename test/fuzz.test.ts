/**
 * The short form of `npm run fuzz` (fuzz/run.ts): a few hundred seeded mutations of every importer,
 * each in a child process with time and memory limits; every input is read or refused with a
 * StudioError (no crash, hang or blow-up). The full campaign is `npm run fuzz` (2,000 per format).
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..');
const COUNT = 300;

describe('importer fuzzing (short form)', () => {
  it(`reads or refuses ${COUNT} mutated inputs per format with a StudioError, within 5 s and 1 GiB each`, () => {
    const r = spawnSync(join(ROOT, 'node_modules/.bin/tsx'), ['fuzz/run.ts', '--count', String(COUNT), '--seed', '7', '--quiet'], { cwd: ROOT, encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20 });
    const report = JSON.parse(r.stdout) as { targets: Record<string, { inputs: number; read: number; refused: number; findings: unknown[] }> };
    const names = Object.keys(report.targets);
    expect(names).toEqual(expect.arrayContaining(['npy', 'safetensors', 'pth', 'zip', 'gzip', 'reviews', 'reference-bundle', 'joint-bundle', 'joint-checkpoint', 'config-yaml', 'sequences', 'metadata', 'reference-config', 'reference-run', 'grpo-bundle', 'tokenizer']));
    expect(names.some((n) => n.startsWith('selftest'))).toBe(false);
    for (const [name, t] of Object.entries(report.targets)) {
      expect(t.findings, name).toEqual([]);
      expect(t.inputs, name).toBe(COUNT);
      // a target whose mutations are all read (or all refused) would test little
      expect(t.refused, name).toBeGreaterThan(0);
    }
    expect(r.status).toBe(0);
  }, 600_000);

  it('the limits are enforced: a hang, a memory blow-up and a non-StudioError are findings with their reproduction', () => {
    const r = spawnSync(join(ROOT, 'node_modules/.bin/tsx'), [
      'fuzz/run.ts', '--count', '1', '--target', 'selftest-hang,selftest-memory,selftest-crash', '--timeout-ms', '4000', '--max-rss-mb', '256', '--quiet',
    ], { cwd: ROOT, encoding: 'utf8', timeout: 300_000, maxBuffer: 16 << 20 });
    const report = JSON.parse(r.stdout) as { targets: Record<string, { inputs: number; findings: { kind: string; reproduce: string }[] }> };
    const kinds = Object.fromEntries(Object.entries(report.targets).map(([n, t]) => [n, t.findings.map((f) => f.kind)]));
    expect(kinds).toEqual({ 'selftest-hang': ['hang'], 'selftest-memory': ['memory'], 'selftest-crash': ['crash'] });
    for (const t of Object.values(report.targets)) expect(t.inputs).toBe(1);
    expect(report.targets['selftest-hang'].findings[0].reproduce).toBe('npm run fuzz -- --target selftest-hang --seed 1 --from 0 --count 1');
    expect(r.status).toBe(1);
  }, 300_000);
});
