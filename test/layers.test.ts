// Enforces the layer rules of design/architecture.md on the real import graph (not only lint):
// the UI never reaches tfjs or IndexedDB code, src/core imports nothing outside src/core,
// src/storage never reaches workers/ or the UI, workers/ never reaches the UI, and the worker
// contract files form no import cycle.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(__dirname, '..');
const importRe = /(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p) : /\.(ts|tsx)$/.test(name) ? [p] : [];
  });
}

/** Value imports only: `import type` lines are erased at build time and pull in nothing. */
function valueImports(file: string): string[] {
  return imports(file, false);
}

/** Every import and re-export of a file; `withTypes` false leaves out the type-only ones. */
function imports(file: string, withTypes = true): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(importRe)) {
    if (!withTypes && /^\s*(import|export)\s+type\s/.test(m[0])) continue;
    out.push(m[1] ?? m[2]);
  }
  return out;
}

function resolveLocal(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = resolve(dirname(from), spec);
  for (const c of [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')]) {
    if (existsSync(c) && statSync(c).isFile()) return c;
  }
  return null;
}

/** All packages and project files reachable from `entries` through value imports (or all imports). */
function reach(entries: string[], withTypes = false): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const stack = [...entries];
  while (stack.length) {
    const f = stack.pop()!;
    if (files.has(f)) continue;
    files.add(f);
    for (const spec of imports(f, withTypes)) {
      const local = resolveLocal(f, spec);
      if (local) stack.push(local);
      else if (!spec.startsWith('.')) packages.add(spec);
    }
  }
  return { files, packages };
}

describe('layers', () => {
  it('the UI never reaches tfjs, idb or src/storage (worker code is loaded only as a Worker URL)', () => {
    const appFiles = listFiles(join(root, 'src/app'));
    expect(appFiles.length).toBeGreaterThan(0);
    const { files, packages } = reach(appFiles);
    const bad = [...packages].filter((p) => p.startsWith('@tensorflow/') || p === 'idb');
    expect(bad).toEqual([]);
    const crossed = [...files].map((f) => relative(root, f)).filter((f) => f.startsWith('src/storage') || f.startsWith('workers/studio.worker'));
    expect(crossed).toEqual([]);
  });

  it('src/storage reaches only src/storage and src/core (type imports included): never workers/ or the UI', () => {
    const storageFiles = listFiles(join(root, 'src/storage'));
    expect(storageFiles.length).toBeGreaterThan(0);
    const { files } = reach(storageFiles, true);
    const crossed = [...files].map((f) => relative(root, f)).filter((f) => !f.startsWith('src/storage/') && !f.startsWith('src/core/'));
    expect(crossed).toEqual([]);
  });

  it('workers/ never reaches the UI (type imports included)', () => {
    const workerFiles = listFiles(join(root, 'workers'));
    expect(workerFiles.length).toBeGreaterThan(0);
    const { files } = reach(workerFiles, true);
    const crossed = [...files].map((f) => relative(root, f)).filter((f) => f.startsWith('src/app/'));
    expect(crossed).toEqual([]);
  });

  it('the worker contract (api.ts and what it imports) has no import cycle', () => {
    const api = join(root, 'workers/api.ts');
    const { files } = reach([api], true);
    const cycles: string[] = [];
    for (const f of [...files].filter((x) => relative(root, x).startsWith('workers/'))) {
      for (const spec of imports(f)) {
        const to = resolveLocal(f, spec);
        if (to && to !== f && reach([to], true).files.has(f)) cycles.push(`${relative(root, f)} <-> ${relative(root, to)}`);
      }
    }
    expect(cycles).toEqual([]);
  });

  it('src/core imports nothing of the project outside src/core, and no DOM/IDB/fs/React packages', () => {
    const coreFiles = listFiles(join(root, 'src/core'));
    expect(coreFiles.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const f of coreFiles) {
      for (const spec of valueImports(f)) {
        const local = resolveLocal(f, spec);
        if (local && !relative(join(root, 'src/core'), local).split('/').every((s) => s !== '..')) {
          problems.push(`${relative(root, f)} -> ${spec}`);
        }
        if (/^(react|react-dom|idb|fs|node:fs|fs\/promises|node:fs\/promises|node:path|path)$/.test(spec)) {
          problems.push(`${relative(root, f)} -> ${spec}`);
        }
      }
      const text = readFileSync(f, 'utf8');
      if (/\b(document|window|indexedDB)\s*\./.test(text)) problems.push(`${relative(root, f)} uses a DOM/IndexedDB global`);
    }
    expect(problems).toEqual([]);
  });
});
