/**
 * Runs the benchmark scripts (each in its own Node process, so peak memory is per stage) and prints
 * ONE JSON object {"machine": …, "stages": {name: result}} on stdout; progress goes to stderr.
 *   npm run bench [-- --stage prepare|sasrec|rqvae|joint] [-- --quick]
 * `--quick` passes small sizes so the whole suite finishes in a few minutes on 2 cores.
 */
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: { stage: { type: 'string', multiple: true }, quick: { type: 'boolean', default: false } },
});

const STAGES: Record<string, { file: string; quickArgs: string[] }> = {
  prepare: { file: 'prepare.bench.ts', quickArgs: ['--runs', '3', '--size', '200000'] },
  sasrec: { file: 'sasrec.bench.ts', quickArgs: ['--steps', '2', '--batch', '256'] },
  rqvae: { file: 'rqvae.bench.ts', quickArgs: [] },
  joint: { file: 'joint.bench.ts', quickArgs: ['--batch', '8', '--micro', '8', '--steps', '2', '--eval-users', '8'] },
};

const wanted = values.stage?.length ? values.stage : Object.keys(STAGES);
const stages: Record<string, unknown> = {};
for (const name of wanted) {
  const stage = STAGES[name];
  if (!stage) {
    process.stderr.write(`unknown stage "${name}"; known: ${Object.keys(STAGES).join(', ')}\n`);
    process.exit(2);
  }
  process.stderr.write(`[bench] ${name}…\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, stage.file), ...(values.quick ? stage.quickArgs : [])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  try {
    stages[name] = JSON.parse(r.stdout);
  } catch {
    stages[name] = { error: `exit ${r.status}; stdout was not one JSON object`, stdout: r.stdout.slice(0, 2000) };
  }
}
const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
process.stdout.write(JSON.stringify({ machine, stages }, null, 2) + '\n');
