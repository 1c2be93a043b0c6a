import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe('bench/run.ts', () => {
  it('--json prints exactly one JSON object with the stage and machine keys', () => {
    const r = spawnSync('npx', ['tsx', 'bench/run.ts', '--json', '--stage', 'prepare', '--quick'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      stages: Record<string, Record<string, unknown>>;
      machine: Record<string, unknown>;
      command: string;
      wasm_batched_matmul?: string;
    };
    expect(Object.keys(out.stages)).toEqual(['prepare']);
    const p = out.stages.prepare;
    expect(p.error).toBeUndefined();
    for (const key of ['samples_per_s', 'median_step_ms', 'first_step_ms', 'peak_rss_mb']) {
      expect(typeof p[key], key).toBe('number');
    }
    expect(p.samples_per_s as number).toBeGreaterThan(0);
    expect(out.machine.cpus).toBeGreaterThan(0);
    expect(typeof out.machine.node).toBe('string');
    expect(out.command).toContain('--stage prepare');
    // the default wasm run says which batched-matMul kernel it used (--stock-matmul: stock tfjs)
    expect(out.wasm_batched_matmul).toMatch(/^simd kernel/);
    // progress went to stderr, not stdout
    expect(r.stderr).toContain('[bench]');
  }, 120_000);

  it('rejects an unknown stage with exit 2', () => {
    const r = spawnSync('npx', ['tsx', 'bench/run.ts', '--json', '--stage', 'nope'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown stage');
    expect(r.stdout).toBe('');
  }, 60_000);
});
