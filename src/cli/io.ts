/** Node file helpers for the CLI: file sources, atomic output directories, chunked text writes. */
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
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

/** Pseudo file systems: nothing is written there (a recursive mkdir under /proc never ends). */
const PSEUDO_FS = ['/proc', '/sys', '/dev'];

const tmpPrefix = (out: string) => `.${basename(out)}.tmp-`;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary folders that killed runs left beside `out` (`.<name>.tmp-<pid>-…` of a
 * process that is gone; older unnamed ones after an hour). Returns the removed names.
 */
export async function cleanStaleStaging(out: string): Promise<string[]> {
  const parent = dirname(out);
  const prefix = tmpPrefix(out);
  const removed: string[] = [];
  for (const n of await readdir(parent).catch(() => [] as string[])) {
    if (!n.startsWith(prefix)) continue;
    const m = /^(\d+)-/.exec(n.slice(prefix.length));
    const full = join(parent, n);
    const stale = m ? !pidAlive(Number(m[1])) : Date.now() - ((await stat(full).catch(() => null))?.mtimeMs ?? Date.now()) > 3_600_000;
    if (stale) {
      await rm(full, { recursive: true, force: true });
      removed.push(n);
    }
  }
  return removed;
}

export interface OutputCheck {
  /** Files of this pattern already in `out` make it "in use": refused unless `force`. */
  existing?: RegExp;
  force?: boolean;
  /** What the files are, for the message ("a prepared dataset"). */
  what?: string;
  /** The flag that names the folder (default --out). */
  flag?: string;
}

/**
 * Checks an output folder before any work is done: not on a pseudo file system, not a file, its
 * parent creatable and writable, and (with `existing`) not already holding such files unless
 * forced; cleans staging folders of killed runs. Throws a StudioError naming the folder.
 */
export async function checkOutputDir(outDir: string, opts: OutputCheck = {}): Promise<string> {
  const out = resolve(outDir);
  const flag = opts.flag ?? '--out';
  const bad = (message: string) => new StudioError({ code: 'bad_option', field: flag.replace(/^--/, ''), file: out, message });
  if (PSEUDO_FS.some((p) => out === p || out.startsWith(`${p}/`))) throw bad(`${flag} is on a pseudo file system (${out.split('/')[1]}); choose a normal folder`);
  const st = await stat(out).catch(() => null);
  if (st && !st.isDirectory()) throw bad(`${flag} exists and is not a directory`);
  const parent = dirname(out);
  try {
    await mkdir(parent, { recursive: true });
    const probe = await mkdtemp(join(parent, `${tmpPrefix(out)}${process.pid}-probe-`));
    await rm(probe, { recursive: true, force: true });
  } catch (e) {
    throw bad(`${flag}: cannot write in ${parent} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  await cleanStaleStaging(out);
  if (st && opts.existing) {
    const held = (await readdir(out)).filter((n) => opts.existing?.test(n));
    if (held.length && !opts.force) {
      throw bad(`${flag} already holds ${opts.what ?? 'output'} (${held.slice(0, 3).join(', ')}${held.length > 3 ? ', …' : ''}); pass --force to replace it, or choose another folder`);
    }
  }
  return out;
}

/**
 * Writes files into a temporary directory next to `outDir`, then moves them into place, so a failure
 * leaves nothing behind. `commit()` publishes; `abort()` removes the temporary directory. The
 * temporary name carries the process id, so a later run can clean what a killed one left.
 */
export class StagedOutput {
  private constructor(readonly outDir: string, readonly tmpDir: string, private readonly names: string[] = []) {}

  static async create(outDir: string): Promise<StagedOutput> {
    const out = resolve(outDir);
    const parent = dirname(out);
    await mkdir(parent, { recursive: true });
    const tmp = await mkdtemp(join(parent, `${tmpPrefix(out)}${process.pid}-`));
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

  /** Writes `name` (a relative path: its folders are created). */
  async writeBytes(name: string, bytes: Uint8Array): Promise<void> {
    if (name.includes('/')) await mkdir(dirname(join(this.tmpDir, name)), { recursive: true });
    const fh = await open(join(this.tmpDir, name), 'w');
    try { await fh.write(bytes); } finally { await fh.close(); }
    this.names.push(name);
  }

  /** Publishes the files; with `replace`, files of that pattern already in the folder and not rewritten are removed. */
  async commit(replace?: RegExp): Promise<string[]> {
    const existing = await stat(this.outDir).catch(() => null);
    if (existing?.isDirectory() && replace) {
      for (const n of await readdir(this.outDir)) if (replace.test(n) && !this.names.includes(n)) await rm(join(this.outDir, n), { force: true });
    }
    if (!existing) {
      await chmod(this.tmpDir, 0o777 & ~process.umask());
      await rename(this.tmpDir, this.outDir);
    } else {
      if (!existing.isDirectory()) throw new StudioError({ code: 'bad_option', file: this.outDir, message: '--out exists and is not a directory' });
      for (const n of this.names) {
        if (n.includes('/')) await mkdir(dirname(join(this.outDir, n)), { recursive: true });
        await rename(join(this.tmpDir, n), join(this.outDir, n));
      }
      // only the emptied folders of nested names are left
      await rm(this.tmpDir, { recursive: true, force: true });
    }
    return this.names.map((n) => join(this.outDir, n));
  }

  async abort(): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
  }
}

/** The files of a prepared dataset folder. */
export const PREPARED_FILE = /\.(train|valid|test)\.jsonl$|\.emb_map\.json$|\.inter$|\.items\.tsv$/;

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

/** Modification times (ms) of a directory's files, by name (the newest reference <epoch>.pt is its last save). */
export async function modifiedTimes(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    const st = await stat(join(dir, n)).catch(() => null);
    if (st?.isFile()) out[n] = st.mtimeMs;
  }
  return out;
}
