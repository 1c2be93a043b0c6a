/** Node file helpers for the CLI: file sources, atomic output directories, chunked text writes. */
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { importReferenceBundle, type BundleFile } from '../core/data/referenceBundle.ts';
import type { ImportSourceFile } from '../core/data/importer.ts';
import { DEFAULT_PREPARE_CONFIG, type PreparedDataset } from '../core/data/types.ts';
import type { ProgressSink } from '../core/events.ts';
import { StudioError } from '../core/errors.ts';

/** An input file as an import source (streamed, never read whole unless asked). */
export async function fileSource(path: string): Promise<ImportSourceFile> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new StudioError({ code: 'not_found', file: path, message: 'No such file' });
  }
  if (!st.isFile()) throw new StudioError({ code: 'bad_option', file: path, message: 'Not a regular file' });
  return {
    name: basename(path),
    size: st.size,
    open: () => createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>,
  };
}

/** Input paths → sources; a directory contributes its files (a loose reference bundle). */
export async function inputSources(paths: string[]): Promise<ImportSourceFile[]> {
  const out: ImportSourceFile[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => null);
    if (st?.isDirectory()) {
      const names = (await readdir(p)).filter((n) => !n.startsWith('.')).sort();
      for (const n of names) {
        const full = join(p, n);
        if ((await stat(full)).isFile()) out.push(await fileSource(full));
      }
    } else {
      out.push(await fileSource(p));
    }
  }
  return out;
}

/**
 * Writes files into a temporary directory next to `outDir`, then moves them into place, so a failure
 * leaves nothing behind. `commit()` publishes; `abort()` removes the temporary directory.
 */
export class StagedOutput {
  private constructor(readonly outDir: string, readonly tmpDir: string, private readonly names: string[] = []) {}

  static async create(outDir: string): Promise<StagedOutput> {
    const out = resolve(outDir);
    const parent = dirname(out);
    await mkdir(parent, { recursive: true });
    const tmp = await mkdtemp(join(parent, `.${basename(out)}.tmp-`));
    return new StagedOutput(out, tmp);
  }

  /** Streams text chunks into `name`. */
  async writeText(name: string, chunks: Iterable<string>, signal?: AbortSignal): Promise<void> {
    const fh = await open(join(this.tmpDir, name), 'w');
    try {
      let buf: string[] = [];
      let size = 0;
      for (const c of chunks) {
        buf.push(c);
        size += c.length;
        if (size >= 1 << 20) {
          if (signal?.aborted) throw new StudioError({ code: 'cancelled', message: 'Cancelled by the user' });
          await fh.write(buf.join(''));
          buf = [];
          size = 0;
        }
      }
      if (buf.length) await fh.write(buf.join(''));
    } finally {
      await fh.close();
    }
    this.names.push(name);
  }

  async writeBytes(name: string, bytes: Uint8Array): Promise<void> {
    const fh = await open(join(this.tmpDir, name), 'w');
    try { await fh.write(bytes); } finally { await fh.close(); }
    this.names.push(name);
  }

  async commit(): Promise<string[]> {
    const existing = await stat(this.outDir).catch(() => null);
    if (!existing) {
      await chmod(this.tmpDir, 0o777 & ~process.umask());
      await rename(this.tmpDir, this.outDir);
    } else {
      if (!existing.isDirectory()) throw new StudioError({ code: 'bad_option', file: this.outDir, message: '--out exists and is not a directory' });
      for (const n of this.names) await rename(join(this.tmpDir, n), join(this.outDir, n));
      await rmdir(this.tmpDir);
    }
    return this.names.map((n) => join(this.outDir, n));
  }

  async abort(): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
  }
}

const PREPARED_FILE = /\.(train|valid|test)\.jsonl$|\.emb_map\.json$|\.inter$|\.items\.tsv$/;

/** A prepared dataset directory (the reference files `etegrec prepare` writes) as a dataset. */
export async function loadPreparedDir(
  dir: string,
  maxLen: number,
  ctx: { signal: AbortSignal; stderr(line: string): void },
  onEvent?: ProgressSink,
): Promise<PreparedDataset> {
  const names = (await readdir(dir).catch(() => {
    throw new StudioError({ code: 'not_found', file: dir, message: 'No such directory' });
  }))
    .filter((n) => PREPARED_FILE.test(n))
    .sort();
  const files: BundleFile[] = [];
  for (const n of names) files.push({ name: n, bytes: new Uint8Array(await readFile(join(dir, n))) });
  const { dataset, warnings } = await importReferenceBundle(files, { config: { ...DEFAULT_PREPARE_CONFIG, maxLen }, signal: ctx.signal, onEvent });
  for (const w of warnings) ctx.stderr(`warning: ${w}`);
  return dataset;
}

/** The bundle files of a directory (ours or the reference's `.pt` layout), by file name. */
export async function readBundleDir(dir: string): Promise<Record<string, Uint8Array>> {
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new StudioError({ code: 'not_found', file: dir, message: 'No such bundle directory' });
  const files: Record<string, Uint8Array> = {};
  for (const n of await readdir(dir)) {
    if (/\.(safetensors|pt|rqvae|json|yaml)$/.test(n)) files[n] = new Uint8Array(await readFile(join(dir, n)));
  }
  return files;
}
