/**
 * `npm run fuzz`: seeded, reproducible fuzzing of every importer (fuzz/targets.ts) with mutated
 * inputs (fuzz/mutate.ts), each in a child process with a time and a memory limit. An input must
 * be read or refused with a StudioError within the limits; a crash (any other error), a hang or a
 * memory blow-up is a finding, printed with the command that reproduces it.
 *
 *   npm run fuzz -- [--count 2000] [--seed 1] [--target npy,pth] [--timeout-ms 5000] [--max-rss-mb 1024] [--from 0]
 *
 * Prints one JSON object (per target: inputs, read, refused, findings) and exits 1 on any finding.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ALL_TARGETS, TARGETS } from './targets.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
    target: { type: 'string' },
    'timeout-ms': { type: 'string', default: '5000' },
    'max-rss-mb': { type: 'string', default: '1024' },
    from: { type: 'string', default: '0' },
    quiet: { type: 'boolean', default: false },
  },
});
const count = Number(values.count);
const seed = Number(values.seed);
const from = Number(values.from);
const timeoutMs = Number(values['timeout-ms']);
const maxRssMb = Number(values['max-rss-mb']);
const names = values.target ? values.target.split(',') : TARGETS.map((t) => t.name);
for (const n of names) if (!ALL_TARGETS.some((t) => t.name === n)) throw new Error(`unknown target ${n}; known: ${ALL_TARGETS.map((t) => t.name).join(', ')}`);

interface Finding { input: number; kind: 'crash' | 'hang' | 'memory' | 'exit'; message: string; reproduce: string }
interface TargetResult { inputs: number; read: number; refused: number; findings: Finding[]; seconds: number }

const ROOT = join(import.meta.dirname, '..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

/** Runs inputs [start, end) in one child; resolves with the next input to run (after a hang or crash) or end. */
function runChild(name: string, start: number, end: number, res: TargetResult): Promise<number> {
  return new Promise((resolve) => {
    // the V8 heap is capped too, so an allocation a file merely claims cannot take the machine
    const child = spawn(TSX, [join(ROOT, 'fuzz/child.ts'), name, String(seed), String(start), String(end), String(maxRssMb)], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: `--max-old-space-size=${maxRssMb}` },
    });
    let current = -1;
    let done = start;
    let stderr = '';
    let timer: ReturnType<typeof setTimeout> | undefined;
    // once killed for a hang, what the child still prints about that input is not counted again
    let killed = false;
    const reproduce = (i: number) => `npm run fuzz -- --target ${name} --seed ${seed} --from ${i} --count ${i + 1}`;
    const finish = (next: number) => { clearTimeout(timer); resolve(next); };
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^([SR]) (\d+)(?: (\w+) (.*))?$/.exec(line);
      if (!m || killed) return;
      const i = Number(m[2]);
      clearTimeout(timer);
      if (m[1] === 'S') {
        current = i;
        timer = setTimeout(() => {
          res.findings.push({ input: i, kind: 'hang', message: `no answer within ${timeoutMs} ms`, reproduce: reproduce(i) });
          killed = true;
          child.kill('SIGKILL');
        }, timeoutMs);
        return;
      }
      current = -1;
      done = i + 1;
      res.inputs++;
      const kind = m[3];
      const message = JSON.parse(m[4] ?? '""') as string;
      if (kind === 'ok') res.read++;
      else if (kind === 'refused') res.refused++;
      else res.findings.push({ input: i, kind: kind === 'memory' ? 'memory' : 'crash', message, reproduce: reproduce(i) });
    });
    child.on('exit', (code, signal) => {
      if (current >= 0) {
        // killed (hang, recorded above) or died on this input
        if (!res.findings.some((f) => f.input === current)) {
          res.findings.push({ input: current, kind: 'exit', message: `the child exited (${signal ?? `code ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`, reproduce: reproduce(current) });
        }
        res.inputs++;
        finish(current + 1);
      } else if (code !== 0 && done === start) {
        throw new Error(`fuzz target ${name} did not start: ${stderr}`);
      } else finish(done);
    });
  });
}

const report: Record<string, TargetResult> = {};
for (const name of names) {
  const t0 = Date.now();
  const res: TargetResult = { inputs: 0, read: 0, refused: 0, findings: [], seconds: 0 };
  let next = from;
  while (next < from + count) next = await runChild(name, next, from + count, res);
  res.seconds = (Date.now() - t0) / 1000;
  report[name] = res;
  if (!values.quiet) process.stderr.write(`${name}: ${res.inputs} inputs, ${res.read} read, ${res.refused} refused, ${res.findings.length} findings (${res.seconds.toFixed(1)} s)\n`);
}
process.stdout.write(JSON.stringify({ seed, count, from, timeoutMs, maxRssMb, targets: report }, null, 2) + '\n');
process.exit(Object.values(report).some((r) => r.findings.length) ? 1 : 0);
