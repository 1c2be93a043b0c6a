/**
 * One benchmark suite across stages and backends. Runs each stage script in its own Node process
 * (so peak memory is per stage; the three joint stages share one trainJoint run) and prints ONE
 * JSON object {"stages": {name: result}, "machine": {…}, …} on stdout; progress goes to stderr.
 *
 *   npm run bench -- [--json] [--stage NAME]… [--backend wasm|cpu|webgpu] [--batch N] [--runs N]
 *                    [--quick] [--save] [--vk-icd swiftshader|PATH] [--stock-matmul]
 *                    [--items N] [--micro N] [--eval-users N] [--max-history N]
 *
 * Stages: prepare, sasrec_step, rqvae_epoch, joint_tok_step, joint_rec_step, beam_eval (default: all).
 * --json    stdout is exactly the JSON object (no readable summary on stderr).
 * --quick   small sizes, so the whole suite finishes in a few minutes on 2 cores.
 * --runs N  timed steps/runs per stage (median over them; the first step is reported separately).
 * --save    also writes bench/results/latest.json (result + the command that produced it).
 * --vk-icd  webgpu only: sets VK_ICD_FILENAMES for the stage processes (`swiftshader` = Chromium's
 *           SwiftShader ICD, a CPU Vulkan driver for machines without a GPU).
 * --stock-matmul  wasm only: batched matMuls on stock tfjs instead of our SIMD kernel (the "before").
 * --items, --micro, --eval-users, --max-history  passed to the stages that take them (smaller shapes
 *           for slow adapters; bench/gpu-check.sh uses them).
 * See bench/README.md.
 */
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    stage: { type: 'string', multiple: true },
    backend: { type: 'string', default: 'wasm' },
    batch: { type: 'string' },
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    save: { type: 'boolean', default: false },
    'vk-icd': { type: 'string' },
    'stock-matmul': { type: 'boolean', default: false },
    items: { type: 'string' },
    micro: { type: 'string' },
    'eval-users': { type: 'string' },
    'max-history': { type: 'string' },
  },
});

type Group = 'prepare' | 'sasrec' | 'rqvae' | 'joint';
const STAGES: Record<string, Group> = {
  prepare: 'prepare',
  sasrec_step: 'sasrec',
  rqvae_epoch: 'rqvae',
  joint_tok_step: 'joint',
  joint_rec_step: 'joint',
  beam_eval: 'joint',
};
const GROUPS: Record<Group, { file: string; quick: Record<string, string>; batch: boolean; backend: boolean }> = {
  prepare: { file: 'prepare.bench.ts', quick: { '--runs': '2', '--size': '30000' }, batch: false, backend: false },
  sasrec: { file: 'sasrec.bench.ts', quick: { '--runs': '2', '--batch': '64' }, batch: true, backend: true },
  rqvae: { file: 'rqvae.bench.ts', quick: { '--runs': '1', '--items': '4096' }, batch: true, backend: true },
  joint: { file: 'joint.bench.ts', quick: { '--runs': '2', '--batch': '8', '--micro': '8', '--eval-users': '16' }, batch: true, backend: true },
};

const backend = String(values.backend);
if (!['wasm', 'cpu', 'webgpu'].includes(backend)) {
  process.stderr.write(`unknown backend "${backend}"; use wasm, cpu or webgpu\n`);
  process.exit(2);
}
const wanted = values.stage?.length ? values.stage.flatMap((s) => s.split(',')) : Object.keys(STAGES);
for (const name of wanted) {
  if (!STAGES[name]) {
    process.stderr.write(`unknown stage "${name}"; known: ${Object.keys(STAGES).join(', ')}\n`);
    process.exit(2);
  }
}

const env = { ...process.env };
// read by startBackend() in the stage processes
if (values['stock-matmul']) env.ETEGREC_WASM_STOCK_MATMUL = '1';
if (values['vk-icd']) {
  env.VK_ICD_FILENAMES = values['vk-icd'] === 'swiftshader' ? '/usr/lib/chromium/vk_swiftshader_icd.json' : values['vk-icd'];
}

function argsFor(group: Group): string[] {
  const g = GROUPS[group];
  const args: Record<string, string> = values.quick ? { ...g.quick } : {};
  if (g.backend) args['--backend'] = backend;
  if (g.batch && values.batch) {
    args['--batch'] = values.batch;
    if (group === 'joint' && !values.quick) delete args['--micro'];
    if (group === 'joint' && values.quick) args['--micro'] = String(Math.min(Number(values.batch), 8));
  }
  if (values.runs) args['--runs'] = values.runs;
  if (values.items && group !== 'prepare') args['--items'] = values.items;
  if (values.micro && (group === 'joint' || group === 'sasrec')) args['--micro'] = values.micro;
  if (values['eval-users'] && group === 'joint') args['--eval-users'] = values['eval-users'];
  if (values['max-history'] && group === 'joint') args['--max-history'] = values['max-history'];
  return Object.entries(args).flat();
}

function runGroup(group: Group): Record<string, unknown> {
  const args = argsFor(group);
  process.stderr.write(`[bench] ${group}: npx tsx bench/${GROUPS[group].file} ${args.join(' ')}\n`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, GROUPS[group].file), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
    env,
  });
  const wall = Math.round((Date.now() - t0) / 100) / 10;
  const text = (r.stdout ?? '').trim();
  if (text) {
    // the stage prints one JSON object (pretty-printed or on its last line)
    for (const candidate of [text, text.split('\n').pop() ?? '']) {
      try {
        const parsed = JSON.parse(candidate) as Record<string, unknown>;
        if (r.status !== 0 && !parsed.error) parsed.error = `exit ${r.status ?? r.signal}`;
        return { ...parsed, _exit: r.status, _wall_seconds: wall, _args: args };
      } catch {
        /* next */
      }
    }
  }
  return { error: `exit ${r.status ?? r.signal}; stdout was not one JSON object (see the stage's stderr)`, stdout: text.slice(0, 2000), _wall_seconds: wall, _args: args };
}

const stages: Record<string, unknown> = {};
const groupResults = new Map<Group, Record<string, unknown>>();
for (const name of wanted) {
  const group = STAGES[name];
  if (!groupResults.has(group)) groupResults.set(group, runGroup(group));
  const res = groupResults.get(group)!;
  if (group === 'joint') {
    const part = res.error ? res : (res[name] as Record<string, unknown> | undefined) ?? { error: `no ${name} in output` };
    stages[name] = { ...part, _wall_seconds: res._wall_seconds, _args: res._args };
  } else {
    stages[name] = res;
  }
}

function git(cmd: string): string | undefined {
  try {
    return execSync(`git ${cmd}`, { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

const machine = {
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  mem_gib: Math.round(totalmem() / 2 ** 30),
  loadavg_1m: Math.round(loadavg()[0] * 100) / 100,
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  ...(env.VK_ICD_FILENAMES ? { vk_icd_filenames: env.VK_ICD_FILENAMES } : {}),
};
const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
const out = {
  stages,
  machine,
  backend,
  ...(backend === 'wasm' ? { wasm_batched_matmul: values['stock-matmul'] ? 'stock tfjs' : 'simd kernel (src/core/tfjs/wasmBmm.ts)' } : {}),
  quick: values.quick,
  command,
  git_commit: git('rev-parse --short HEAD'),
  date: new Date().toISOString(),
};
const text = JSON.stringify(out, null, 2) + '\n';
process.stdout.write(text);

if (values.save) {
  const dir = join(here, 'results');
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), text);
  process.stderr.write(`[bench] wrote bench/results/latest.json\n`);
}

if (!values.json) {
  const rows = Object.entries(stages).map(([name, r]) => {
    const s = r as Record<string, number | string | undefined>;
    if (s.error) return `${name.padEnd(15)} ERROR ${s.error}`;
    const f = (k: string, unit = '') => (s[k] !== undefined ? `${k}=${s[k]}${unit}` : '');
    return [name.padEnd(15), f('samples_per_s'), f('median_step_ms'), f('first_step_ms'), f('gflops'), f('seconds_per_1000_users'), f('users_per_s'), f('peak_rss_mb')]
      .filter(Boolean)
      .join('  ');
  });
  process.stderr.write(`\n[bench] summary (${backend}${values.quick ? ', quick' : ''}):\n${rows.join('\n')}\n`);
}
process.exitCode = Object.values(stages).some((s) => (s as { error?: unknown }).error) ? 1 : 0;
