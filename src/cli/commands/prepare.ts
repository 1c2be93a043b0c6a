/** `etegrec prepare`: interaction file (or reference bundle) → reference-format files. */
import { basename } from 'node:path';
import { writeNpy } from '../../core/io/npy.ts';
import { importToDataset } from '../../core/data/importer.ts';
import { fullStatsJson, itemsTsvChunks, referenceFiles } from '../../core/data/writers.ts';
import type { InteractionFormat, MetadataFormat } from '../../core/data/types.ts';
import { DEFAULT_PREPARE_CONFIG } from '../../core/data/types.ts';
import { checkOutputDir, inputSources, fileSource, PREPARED_FILE, StagedOutput } from '../io.ts';
import { stderrProgress } from '../progress.ts';
import { UsageError, intOption, type Command, type CommandContext } from '../command.ts';

export const INTERACTION_FORMAT_NAMES = ['auto', 'amazon2014', 'amazon2018', 'amazon2023', 's3rec', 'sasrec', 'reference'] as const;
export const METADATA_FORMAT_NAMES = ['auto', 'amazon2014-meta', 'amazon2018-meta', 'amazon2023-meta', 'items-tsv'] as const;

/** What --force replaces: the prepared files and their stats (other files in the folder stay). */
const PREPARED_OUTPUT = new RegExp(`${PREPARED_FILE.source}|^stats\\.json$`);

const USAGE = `Usage: etegrec prepare <input>... --out <dir> [options]

Prepares a dataset exactly like the reference ETEGRec scripts: iterated k-core filter, stable sort by
user then time, leave-one-out split, all-prefix samples. <input> is one interaction file (.gz read
transparently) or the files / .zip / directory of a reference bundle.

Writes into <dir>: <name>.inter, <name>.train.jsonl, <name>.valid.jsonl, <name>.test.jsonl,
<name>.emb_map.json, stats.json (and <name>.items.tsv with titles, *.npy from a bundle).

Options:
  --out <dir>            output directory (created; files are moved in only on success; a folder
                         that already holds a prepared dataset is refused unless --force)
  --force                replace the prepared dataset already in --out (its other files stay)
  --name <name>          dataset name (default: the bundle's name, or the input file name
                         without extensions)
  --format <format>      ${INTERACTION_FORMAT_NAMES.join('|')} (default auto)
  --kcore <k>            k of the iterated k-core, 0 or 1 = no filter (default ${DEFAULT_PREPARE_CONFIG.kcore})
  --max-len <n>          maximum history length of a sample (default ${DEFAULT_PREPARE_CONFIG.maxLen})
  --meta <file>          item metadata with titles
  --meta-format <fmt>    ${METADATA_FORMAT_NAMES.join('|')} (default auto)
  --quiet                only warnings and errors on stderr
  -h, --help             show this help
`;

export const prepareCommand: Command = {
  name: 'prepare',
  summary: 'prepare a dataset (k-core, split, samples) and write the reference files',
  usage: USAGE,
  options: {
    out: { type: 'string' },
    name: { type: 'string' },
    format: { type: 'string', default: 'auto' },
    kcore: { type: 'string' },
    'max-len': { type: 'string' },
    meta: { type: 'string' },
    'meta-format': { type: 'string', default: 'auto' },
    quiet: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
  },
  async run({ values, positionals }, ctx: CommandContext): Promise<number> {
    if (!positionals.length) throw new UsageError('missing <input>');
    const out = values.out as string | undefined;
    if (!out) throw new UsageError('missing --out <dir>');
    // checked before the import: a refused folder costs nothing
    await checkOutputDir(out, { existing: PREPARED_FILE, force: values.force === true, what: 'a prepared dataset' });
    const format = String(values.format);
    if (!(INTERACTION_FORMAT_NAMES as readonly string[]).includes(format)) {
      throw new UsageError(`unknown format "${format}"; expected one of ${INTERACTION_FORMAT_NAMES.join(', ')}`);
    }
    const metaFormat = String(values['meta-format']);
    if (!(METADATA_FORMAT_NAMES as readonly string[]).includes(metaFormat)) {
      throw new UsageError(`unknown metadata format "${metaFormat}"; expected one of ${METADATA_FORMAT_NAMES.join(', ')}`);
    }
    const kcore = intOption(values.kcore, 'kcore', DEFAULT_PREPARE_CONFIG.kcore, 0);
    const maxLen = intOption(values['max-len'], 'max-len', DEFAULT_PREPARE_CONFIG.maxLen, 1);
    const name = (values.name as string | undefined) ?? '';
    if (values.name !== undefined && (!/^[^/\\\0]+$/.test(name) || name === '.' || name === '..')) throw new UsageError(`invalid --name "${name}"`);

    const progress = stderrProgress(values.quiet === true);
    const files = await inputSources(positionals);
    const metadata = values.meta ? await fileSource(values.meta as string) : undefined;
    const { dataset, warnings, embeddings } = await importToDataset({
      files, name, format: format as InteractionFormat | 'auto',
      ...(metadata ? { metadata, metadataFormat: metaFormat as MetadataFormat | 'auto' } : {}),
      config: { kcore, maxLen }, signal: ctx.signal, onEvent: progress,
    });

    progress({ type: 'phase', stage: 'data', phase: 'write', message: `writing ${out}` });
    const staged = await StagedOutput.create(out);
    try {
      for (const f of referenceFiles(dataset)) {
        progress({ type: 'log', stage: 'data', level: 'info', message: `writing ${f.name}` });
        await staged.writeText(f.name, f.chunks(), ctx.signal);
      }
      await staged.writeText('stats.json', [fullStatsJson(dataset.stats)]);
      if (dataset.itemTitles) await staged.writeText(`${dataset.name}.items.tsv`, itemsTsvChunks(dataset));
      for (const e of embeddings) await staged.writeBytes(basename(e.name), writeNpy(e.data, [e.rows, e.cols]));
      if (ctx.signal.aborted) throw new Error('cancelled');
      await staged.commit(PREPARED_OUTPUT);
    } catch (err) {
      await staged.abort();
      throw err;
    } finally {
      progress.end();
    }
    for (const w of warnings) ctx.stderr(`warning: ${w}`);
    const s = dataset.stats;
    ctx.stdout(
      `Prepared ${dataset.name}: ${s.num_users} users, ${s.num_items} items, ${s.num_interactions} interactions; ` +
      `${s.train_sequences} / ${s.valid_sequences} / ${s.test_sequences} train / valid / test samples → ${out}`,
    );
    return 0;
  },
};
