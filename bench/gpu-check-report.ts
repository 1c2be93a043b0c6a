/**
 * Folds the pieces bench/gpu-check.sh collected in one folder into ONE JSON object on stdout:
 * the adapter, per backend (webgpu, wasm) and PyTorch the stage throughputs and achieved GFLOP/s,
 * and the ratios to PyTorch. Usage: npx tsx bench/gpu-check-report.ts DIR
 *
 * DIR holds: adapter.json (bench/adapter.ts), <backend>-<group>.json (bench/run.ts --json),
 * torch.json (bench/torch_bench.py), and optional text files vulkaninfo.txt, nvidia-smi.txt,
 * meta.json ({quick, seconds, steps: {name: seconds}, ...} written by the script).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

type Json = Record<string, unknown>;
const dir = process.argv[2];
if (!dir || !existsSync(dir)) {
  process.stderr.write('usage: npx tsx bench/gpu-check-report.ts DIR\n');
  process.exit(2);
}

function readJson(name: string): Json | undefined {
  const p = join(dir, name);
  if (!existsSync(p)) return undefined;
  const text = readFileSync(p, 'utf8').trim();
  // a stage may print other lines first; the object is the whole text or its last line
  for (const candidate of [text, text.split('\n').pop() ?? '']) {
    try {
      return JSON.parse(candidate) as Json;
    } catch {
      /* next */
    }
  }
  return { error: `${name} is not JSON`, text: text.slice(0, 500) };
}
const readText = (name: string): string | undefined => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8').trim() : undefined);

const KEEP = ['samples_per_s', 'samples_per_cpu_s', 'median_step_cpu_ms', 'users_per_s', 'seconds_per_1000_users', 'median_step_ms', 'first_step_ms', 'gflops', 'gflop_per_step', 'batch', 'micro_batch', 'tensors_flat', 'peak_rss_mb', 'error', 'hint', '_wall_seconds'];
function compact(stage: Json): Json {
  const out: Json = {};
  for (const k of KEEP) if (stage[k] !== undefined) out[k] = stage[k];
  return out;
}

function backendStages(backend: string): { stages: Record<string, Json>; adapter?: unknown; machine?: unknown; error?: string } {
  const stages: Record<string, Json> = {};
  let adapter: unknown;
  let machine: unknown;
  const files = readdirSync(dir).filter((f) => f.startsWith(`${backend}-`) && f.endsWith('.json'));
  for (const f of files) {
    const r = readJson(f);
    if (!r) continue;
    machine ??= r.machine;
    const st = r.stages as Record<string, Json> | undefined;
    if (!st) {
      stages[f.replace(/\.json$/, '')] = { error: String(r.error ?? 'no stages (timed out or crashed: see the log)') };
      continue;
    }
    for (const [name, s] of Object.entries(st)) {
      stages[name] = compact(s);
      adapter ??= s.adapter;
    }
  }
  return { stages, ...(adapter ? { adapter } : {}), ...(machine ? { machine } : {}) };
}

/** The throughput figure of a stage: samples/s, or users/s for the beam search. */
function rate(s: Json | undefined): number | undefined {
  const v = s?.samples_per_s ?? s?.users_per_s;
  return typeof v === 'number' && Number.isFinite(v) && !s?.error ? v : undefined;
}
const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined && b > 0 ? Number((a / b).toFixed(3)) : undefined);

const meta = readJson('meta.json') ?? {};
const adapterProbe = readJson('adapter.json');
const webgpu = backendStages('webgpu');
const wasm = backendStages('wasm');
const torch = readJson('torch.json');
const torchStages = ((torch?.stages ?? {}) as Record<string, Json>);
const torchCompact: Record<string, Json> = {};
for (const [k, v] of Object.entries(torchStages)) torchCompact[k] = compact(v);

const names = [...new Set([...Object.keys(webgpu.stages), ...Object.keys(wasm.stages), ...Object.keys(torchStages)])].filter((n) => !n.includes('-'));
const compare: Record<string, Json> = {};
for (const n of names) {
  const w = rate(webgpu.stages[n]);
  const m = rate(wasm.stages[n]);
  const t = rate(torchStages[n]);
  compare[n] = {
    unit: n === 'beam_eval' ? 'users/s' : 'samples/s',
    webgpu: w,
    wasm: m,
    torch: t,
    webgpu_over_torch: ratio(w, t),
    wasm_over_torch: ratio(m, t),
    webgpu_over_wasm: ratio(w, m),
    gflops: { webgpu: webgpu.stages[n]?.gflops, wasm: wasm.stages[n]?.gflops, torch: torchStages[n]?.gflops },
  };
}

const out = {
  gpu_check: {
    ...meta,
    note: meta.quick ? 'quick sizes (correctness only): numbers are not comparable with full runs' : 'paper model shapes at the sizes named in bench/README.md (gpu-check)',
  },
  adapter: adapterProbe?.adapter ?? webgpu.adapter ?? null,
  ...(adapterProbe?.error ? { adapter_error: adapterProbe.error, adapter_hint: adapterProbe.hint } : {}),
  compare,
  webgpu: webgpu.stages,
  wasm: wasm.stages,
  torch: { ...((torch?.torch as Json | undefined) ?? {}), ...(torch && !torch.stages ? { error: torch.error ?? 'no stages' } : {}), stages: torchCompact },
  machine: webgpu.machine ?? wasm.machine ?? { cpus: cpus().length, cpu: cpus()[0]?.model, mem_gib: Math.round(totalmem() / 2 ** 30) },
  vulkaninfo: readText('vulkaninfo.txt')?.split('\n').filter((l) => /deviceName|driverName|driverInfo|apiVersion|deviceType/.test(l)).map((l) => l.trim()),
  nvidia_smi: readText('nvidia-smi.txt')?.split('\n')[0],
  results_dir: dir,
};
process.stdout.write(JSON.stringify(out, null, 2) + '\n');
