/** The page URL's backend knobs: ?backend= (an order) and ?threads= (wasm threads; absent = the worker's one). */
import { describe, expect, it } from 'vitest';
import { backendPreference, startPreference, threadsParam } from '../../src/app/stores/backend.ts';

describe('backend URL parameters', () => {
  it('?threads=N asks for N wasm threads; anything else leaves the default', () => {
    expect(threadsParam('?threads=2')).toBe(2);
    expect(threadsParam('?backend=wasm&threads=16')).toBe(16);
    for (const bad of ['', '?threads=', '?threads=0', '?threads=-2', '?threads=1.5', '?threads=abc', '?threads=65', '?threads=Infinity']) {
      expect(threadsParam(bad)).toBeUndefined();
    }
  });

  it('?backend= gives an order of known backends, and wins over the saved choice', () => {
    expect(backendPreference('?backend=webgpu,wasm')).toEqual(['webgpu', 'wasm']);
    expect(backendPreference('?backend=nope')).toBeUndefined();
    expect(startPreference('?backend=cpu', 'wasm')).toEqual({ preference: ['cpu'], source: 'url' });
    expect(startPreference('', 'webgpu')).toEqual({ preference: ['webgpu', 'wasm', 'cpu'], source: 'saved' });
    expect(startPreference('', 'auto')).toEqual({ preference: undefined, source: 'auto' });
  });
});
