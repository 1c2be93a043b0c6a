import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, selectBackend } from '../../src/core/backend.ts';

describe('selectBackend (Node)', () => {
  it('reports webgpu as failed with a reason and falls back to wasm', async () => {
    const report = await selectBackend(['webgpu', 'wasm', 'cpu']);
    expect(report.preference).toEqual(['webgpu', 'wasm', 'cpu']);
    expect(report.attempts[0]).toMatchObject({ backend: 'webgpu', ok: false });
    expect(report.attempts[0].reason).toMatch(/navigator\.gpu is missing/);
    expect(['wasm', 'cpu']).toContain(report.backend);
    expect(tf.getBackend()).toBe(report.backend);
    expect(report.fallbackReason).toMatch(/webgpu failed: navigator\.gpu is missing/);
    expect(report.adapter).toBeUndefined();
    const sum = await tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).data();
    expect(Array.from(sum)).toEqual([4, 6]);
    expect(describeBackend(report)).toMatch(/^backend (wasm|cpu); fallback: webgpu failed/);
  });

  it('webgl does not register in Node and is reported', async () => {
    const report = await selectBackend(['webgl', 'cpu']);
    expect(report.backend).toBe('cpu');
    expect(report.attempts[0]).toMatchObject({ backend: 'webgl', ok: false });
    expect(report.attempts[0].reason).toMatch(/webgl/);
    expect(report.fallbackReason).toBeDefined();
  });

  it('cpu first: no fallbackReason', async () => {
    const report = await selectBackend(['cpu']);
    expect(report).toEqual({ preference: ['cpu'], backend: 'cpu', attempts: [{ backend: 'cpu', ok: true }] });
    expect(tf.getBackend()).toBe('cpu');
    expect(describeBackend(report)).toBe('backend cpu; tried cpu ok');
  });

  it('requestAdapter() returning null is a reported failure', async () => {
    const gpu = { requestAdapter: async () => null };
    const report = await selectBackend(['webgpu', 'cpu'], { gpu });
    expect(report.backend).toBe('cpu');
    expect(report.attempts[0].reason).toMatch(/requestAdapter\(\) returned null/);
  });

  it('a hanging requestAdapter() times out', async () => {
    const gpu = { requestAdapter: () => new Promise<null>(() => {}) };
    const report = await selectBackend(['webgpu', 'cpu'], { gpu, adapterTimeoutMs: 20 });
    expect(report.attempts[0].reason).toMatch(/did not answer within 20 ms/);
  });

  it('all failing throws backend_unavailable', async () => {
    await expect(selectBackend(['webgl'])).rejects.toMatchObject({ info: { code: 'backend_unavailable' } });
  });
});
