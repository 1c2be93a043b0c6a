/**
 * Derives the bundled sample (public/sample/) from the Amazon 2014 Musical Instruments 5-core reviews:
 * keeps only reviewerID, asin, overall, unixReviewTime (no review text, no names), in file order.
 * Usage: npx tsx scripts/make-sample.ts [source.json.gz]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = process.argv[2] ?? resolve(ROOT, '../shared/data/amazon2014_musical_instruments/reviews_Musical_Instruments_5.json.gz');
const OUT = join(ROOT, 'public/sample');
const FILE = 'instruments2014.reviews.jsonl.gz';
const KEEP = ['reviewerID', 'asin', 'overall', 'unixReviewTime'] as const;

const ATTRIBUTION = `# Bundled sample: Amazon 2014 Musical Instruments (5-core), reduced

\`${FILE}\` is derived from \`reviews_Musical_Instruments_5.json.gz\`, the Amazon product review
data (2014 release, "Musical Instruments" 5-core subset) collected and published by Julian McAuley's
lab at UC San Diego.

**Derived content:** only four fields of each review are kept — user id (\`reviewerID\`), item id
(\`asin\`), rating (\`overall\`) and time (\`unixReviewTime\`), in the original file order. Review
texts, summaries, reviewer names and helpfulness votes were removed. 10,261 reviews, 1,429 users,
900 items.

**Terms:** the data is provided by its authors for research use only. If you use it, cite:

* J. McAuley, C. Targett, Q. Shi, A. van den Hengel. *Image-based recommendations on styles and
  substitutes.* SIGIR 2015.
* R. He, J. McAuley. *Ups and downs: Modeling the visual evolution of fashion trends with one-class
  collaborative filtering.* WWW 2016.

Regenerate with \`npx tsx scripts/make-sample.ts\`.
`;

const text = gunzipSync(readFileSync(SOURCE)).toString('utf8');
const out: string[] = [];
let skipped = 0;
for (const line of text.split('\n')) {
  if (!line.trim()) continue;
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(line) as Record<string, unknown>;
  } catch {
    skipped++;
    continue;
  }
  const kept: Record<string, unknown> = {};
  for (const k of KEEP) if (k in obj) kept[k] = obj[k];
  out.push(JSON.stringify(kept));
}
mkdirSync(OUT, { recursive: true });
const gz = gzipSync(Buffer.from(out.join('\n') + '\n', 'utf8'), { level: 9 });
writeFileSync(join(OUT, FILE), gz);
writeFileSync(join(OUT, 'ATTRIBUTION.md'), ATTRIBUTION);
const manifest = {
  file: FILE,
  format: 'amazon2014',
  name: 'Instruments2014-sample',
  kcore: 5,
  maxLen: 50,
  attribution:
    'Amazon 2014 Musical Instruments 5-core reviews, McAuley lab, UC San Diego (McAuley et al., SIGIR 2015; ' +
    'He & McAuley, WWW 2016). Research use only. Derived: only user id, item id, rating and time kept.',
  attributionFile: 'ATTRIBUTION.md',
  interactions: out.length,
};
writeFileSync(join(OUT, 'sample.json'), JSON.stringify(manifest, null, 2) + '\n');
process.stderr.write(`wrote ${out.length} reviews (${gz.length} bytes gzip), skipped ${skipped} unparsable lines → ${OUT}\n`);
