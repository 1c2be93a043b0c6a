/**
 * One fuzzing worker: runs inputs [from, to) of one target and reports each on stdout —
 * `S <i>` before it, `R <i> <kind> <message>` after it (kind: ok, refused = a StudioError,
 * crash = any other error, memory = the resident set grew past the limit). The parent
 * (fuzz/run.ts) kills it on a hang and restarts it after the input that hung or crashed it.
 */
import { StudioError } from '../src/core/errors.ts';
import { fuzzInput } from './mutate.ts';
import { ALL_TARGETS } from './targets.ts';

const [name, seedText, fromText, toText, rssText] = process.argv.slice(2);
const target = ALL_TARGETS.find((t) => t.name === name);
if (!target) throw new Error(`unknown target ${name}`);
const seed = Number(seedText);
const maxRss = Number(rssText) * 2 ** 20;
const seeds = await target.seeds();
// the seeds themselves must be accepted, or the target tests nothing
for (const s of seeds) await target.run(s);
const out = (line: string) => process.stdout.write(`${line}\n`);
for (let i = Number(fromText); i < Number(toText); i++) {
  const bytes = fuzzInput(name, seed, i, seeds);
  out(`S ${i}`);
  let kind = 'ok';
  let message = '';
  try {
    await target.run(bytes);
  } catch (e) {
    kind = e instanceof StudioError ? 'refused' : 'crash';
    message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }
  const rss = process.memoryUsage().rss;
  if (rss > maxRss) {
    out(`R ${i} memory ${JSON.stringify(`resident set ${(rss / 2 ** 20).toFixed(0)} MiB after the input`)}`);
    process.exit(0);
  }
  out(`R ${i} ${kind} ${JSON.stringify(message.slice(0, 300))}`);
}
