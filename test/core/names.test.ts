import { describe, expect, it } from 'vitest';
import { safeName, uniqueName, uniqueNameAsync } from '../../src/core/names.ts';

describe('names', () => {
  it('safeName strips path characters and edge dots/spaces, with a fallback', () => {
    expect(safeName('a/b\\c:d (2)', 'x')).toBe('a_b_c_d (2)');
    expect(safeName(' .hidden. ', 'x')).toBe('hidden');
    expect(safeName('Müsik_2014-v1.2', 'x')).toBe('Müsik_2014-v1.2');
    expect(safeName('..', 'dataset')).toBe('dataset');
    expect(safeName('', 'joint')).toBe('joint');
  });

  it('uniqueName appends (2), (3)… to a taken name; with a fallback it trims and fills an empty name', () => {
    expect(uniqueName('run', new Set())).toBe('run');
    expect(uniqueName('run', new Set(['run', 'run (2)']))).toBe('run (3)');
    expect(uniqueName(' run ', new Set(['run']), 'joint')).toBe('run (2)');
    expect(uniqueName('  ', new Set(['joint']), 'joint')).toBe('joint (2)');
    expect(uniqueName(' run ', new Set(['run']))).toBe(' run ');
  });

  it('uniqueNameAsync asks name by name, in order', async () => {
    const asked: string[] = [];
    const taken = new Set(['data', 'data (2)']);
    const name = await uniqueNameAsync(' data', async (n) => { asked.push(n); return taken.has(n); }, 'dataset');
    expect(name).toBe('data (3)');
    expect(asked).toEqual(['data', 'data (2)', 'data (3)']);
    expect(await uniqueNameAsync('', async () => false, 'dataset')).toBe('dataset');
  });
});
