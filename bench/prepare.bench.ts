/**
 * Stage `prepare` of the suite (bench/run.ts). Data-preparation benchmark: parse + prepare on a synthetic Amazon-2014-style review file
 * (default 1,000,000 interactions, plain and gzip) and on the real 10k Instruments file.
 * Prints ONE JSON object to stdout; progress goes to stderr.
 *
 *   npx tsx bench/prepare.bench.ts [--runs 5] [--size 1000000] [--seed 42]
 *
 * Each input runs in its own child process, so peak RSS is per input.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { parseInteractions } from '../src/core/data/parse.ts';
import { prepareDataset } from '../src/core/data/prepare.ts';

const HERE = fileURLToPath(import.meta.url);
const REAL = resolve(HERE, '../../../shared/data/amazon2014_musical_instruments/reviews_Musical_Instruments_5.json.gz');

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** mulberry32: small deterministic PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const WORDS = ('the guitar string sound great price works fine strap tuner pedal cable amp quality good bought ' +
  'easy use recommend would again love nice little cheap well made product five stars really happy exactly ' +
  'what needed fits perfect tone bass mic stand case pick capo').split(' ');
const MONTHS = ['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12'];

/** Writes a synthetic review file (power-law items, ~10 reviews/user, day-granular times), sorted by item like the SNAP files. */
async function generate(path: string, size: number, seed: number, gzip: boolean): Promise<void> {
  const rand = rng(seed);
  const numUsers = Math.max(1, Math.round(size / 10));
  const numItems = Math.max(1, Math.round(size / 20));
  // Zipf(1.05) item popularity via a cumulative table
  const cdf = new Float64Array(numItems);
  let acc = 0;
  for (let i = 0; i < numItems; i++) { acc += 1 / Math.pow(i + 1, 1.05); cdf[i] = acc; }
  const pickItem = () => {
    const x = rand() * acc;
    let lo = 0;
    let hi = numItems - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid] < x) lo = mid + 1; else hi = mid; }
    return lo;
  };
  const users = new Int32Array(size);
  const items = new Int32Array(size);
  const days = new Int32Array(size);
  const ratings = new Uint8Array(size);
  let n = 0;
  const day0 = Math.floor(Date.UTC(2004, 0, 1) / 86400000);
  const span = Math.floor(Date.UTC(2014, 6, 1) / 86400000) - day0;
  for (let u = 0; n < size; u = (u + 1) % numUsers) {
    // lengths: 5 + geometric tail (mean ≈ 10)
    let len = 5;
    while (rand() < 0.83 && len < 500) len++;
    let d = day0 + Math.floor(rand() * span * 0.8);
    for (let k = 0; k < len && n < size; k++) {
      users[n] = u;
      items[n] = pickItem();
      days[n] = d;
      ratings[n] = rand() < 0.6 ? 5 : 1 + Math.floor(rand() * 4);
      n++;
      if (rand() < 0.6) d += Math.floor(rand() * 40);
    }
  }
  const order = Array.from({ length: size }, (_, i) => i);
  order.sort((a, b) => items[a] - items[b] || days[a] - days[b] || a - b);
  const uid = (u: number) => {
    let s = 'A';
    let x = (u * 2654435761) >>> 0;
    for (let k = 0; k < 13; k++) { s += ALNUM[x % 36]; x = Math.floor(x / 36) ^ (u * (k + 7)); x >>>= 0; }
    return s;
  };
  const asin = (i: number) => 'B' + String(i).padStart(9, '0');
  const tmp = path + '.part';
  const file = createWriteStream(tmp);
  const gz = gzip ? createGzip({ level: 6 }) : null;
  if (gz) gz.pipe(file);
  const sink = gz ?? file;
  const write = (s: string) => new Promise<void>((res) => { if (sink.write(s)) res(); else sink.once('drain', () => res()); });
  const r2 = rng(seed + 1);
  let buf: string[] = [];
  for (let k = 0; k < size; k++) {
    const j = order[k];
    const words: string[] = [];
    const nw = 15 + Math.floor(r2() * 50);
    for (let w = 0; w < nw; w++) words.push(WORDS[Math.floor(r2() * WORDS.length)]);
    const date = new Date(days[j] * 86400000);
    const t = days[j] * 86400;
    buf.push(JSON.stringify({
      reviewerID: uid(users[j]), asin: asin(items[j]), reviewerName: `User ${users[j]}`,
      helpful: [Math.floor(r2() * 3), Math.floor(r2() * 5)], reviewText: words.join(' '),
      overall: ratings[j], summary: words.slice(0, 4).join(' '), unixReviewTime: t,
      reviewTime: `${MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, '0')}, ${date.getUTCFullYear()}`,
    }).replace(/"overall":(\d)/, '"overall": $1.0'));
    if (buf.length >= 5000) { await write(buf.join('\n') + '\n'); buf = []; }
    if (k % 200000 === 0 && k) log(`generated ${k.toLocaleString('en-US')} lines`);
  }
  if (buf.length) await write(buf.join('\n') + '\n');
  await new Promise<void>((res) => { file.on('close', () => res()); sink.end(); });
  renameSync(tmp, path);
}

interface Result {
  file: string;
  bytes: number;
  interactions: number;
  users: number;
  items: number;
  median_ms: number;
  min_ms: number;
  /** Medians of the two parts: parsing (read, gunzip, JSON) and preparation (k-core, sort, ids, stats). */
  parse_median_ms: number;
  prepare_median_ms: number;
  interactions_per_s: number;
  peak_rss_mb: number;
  runs_ms: number[];
  runs: number;
}

async function child(path: string, runs: number): Promise<Result> {
  const times: number[] = [];
  const parseTimes: number[] = [];
  const prepTimes: number[] = [];
  let last = { interactions: 0, users: 0, items: 0 };
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const raw = await parseInteractions(createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>, path, 'amazon2014');
    const t1 = performance.now();
    const ds = prepareDataset(raw, { kcore: 5, maxLen: 50 }, 'bench');
    const ms = performance.now() - t0;
    times.push(ms);
    parseTimes.push(t1 - t0);
    prepTimes.push(performance.now() - t1);
    last = { interactions: raw.count, users: ds.stats.num_users, items: ds.stats.num_items };
    log(`${path}: run ${r + 1}/${runs} ${ms.toFixed(0)} ms (${raw.count.toLocaleString('en-US')} rows → ${ds.stats.num_interactions.toLocaleString('en-US')} after 5-core)`);
  }
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const sorted = [...times].sort((a, b) => a - b);
  const median = med(times);
  return {
    file: path,
    bytes: statSync(path).size,
    ...last,
    median_ms: Math.round(median * 10) / 10,
    min_ms: Math.round(sorted[0] * 10) / 10,
    parse_median_ms: Math.round(med(parseTimes) * 10) / 10,
    prepare_median_ms: Math.round(med(prepTimes) * 10) / 10,
    interactions_per_s: Math.round(last.interactions / (median / 1000)),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    runs_ms: times.map((t) => Math.round(t)),
    runs,
  };
}

async function mainBench(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      size: { type: 'string', default: '1000000' },
      seed: { type: 'string', default: '42' },
      child: { type: 'string' },
    },
  });
  const runs = Math.max(1, Number(values.runs));
  if (values.child) {
    process.stdout.write(JSON.stringify(await child(values.child, runs)) + '\n');
    return;
  }
  const size = Math.max(1000, Number(values.size));
  const seed = Number(values.seed);
  const base = join(tmpdir(), `etegrec-bench-reviews-${size}-s${seed}.json`);
  for (const [path, gz] of [[base, false], [base + '.gz', true]] as const) {
    if (existsSync(path)) { log(`reusing ${path}`); continue; }
    log(`generating ${path} (${size.toLocaleString('en-US')} interactions)`);
    await generate(path, size, seed, gz);
  }
  const inputs: [string, string][] = [
    [`synthetic_${size}`, base],
    [`synthetic_${size}_gz`, base + '.gz'],
  ];
  if (existsSync(REAL)) inputs.push(['instruments2014_10k_gz', REAL]);
  const results: Record<string, Result> = {};
  for (const [name, path] of inputs) {
    log(`running ${name}`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', HERE, '--child', path, '--runs', String(runs)], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24,
    });
    if (r.status !== 0) throw new Error(`${name}: child exited with ${r.status}`);
    results[name] = JSON.parse(r.stdout.trim().split('\n').pop()!) as Result;
  }
  // Suite fields (bench/run.ts): the plain synthetic input is the headline; one "step" = parse + prepare.
  const head = results[`synthetic_${size}`];
  process.stdout.write(JSON.stringify({
    benchmark: 'prepare',
    samples_per_s: head.interactions_per_s,
    samples_unit: 'interactions',
    median_step_ms: head.median_ms,
    first_step_ms: head.runs_ms[0],
    peak_rss_mb: Math.max(...Object.values(results).map((r) => r.peak_rss_mb)),
    node: process.version, platform: `${process.platform}-${process.arch}`, runs, inputs: results,
  }, null, 2) + '\n');
}

await mainBench();
