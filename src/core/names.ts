/**
 * Names of stored things: the file-name form of a user-given name, and unique names per list
 * (" (2)", " (3)", … appended). Plain strings, no tfjs; used by storage, the worker stages and the UI.
 */

/** Keeps letters, digits and `._ ()-`; the rest becomes '_'; no leading or trailing dots or spaces. `fallback` when nothing is left. */
export function safeName(name: string, fallback: string): string {
  const s = name.replace(/[^\p{L}\p{N}._ ()-]+/gu, '_').replace(/^[.\s]+|[.\s]+$/g, '');
  return s || fallback;
}

/** With a `fallback`, `base` is trimmed and an empty one becomes `fallback`; without, it is kept as given. */
function baseName(base: string, fallback?: string): string {
  return fallback === undefined ? base : base.trim() || fallback;
}

/** The n-th candidate: `name`, `name (2)`, `name (3)`, … */
function candidate(name: string, n: number): string {
  return n < 2 ? name : `${name} (${n})`;
}

/** The first candidate name of `base` that `taken` does not hold. */
export function uniqueName(base: string, taken: ReadonlySet<string>, fallback?: string): string {
  const name = baseName(base, fallback);
  let n = 1;
  while (taken.has(candidate(name, n))) n++;
  return candidate(name, n);
}

/** The same, asking an async `isTaken` (a database index) name by name. */
export async function uniqueNameAsync(base: string, isTaken: (name: string) => Promise<boolean>, fallback?: string): Promise<string> {
  const name = baseName(base, fallback);
  let n = 1;
  while (await isTaken(candidate(name, n))) n++;
  return candidate(name, n);
}
