import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/core/backend.ts';

// A fake navigator.gpu whose adapter cannot create a device: tfjs's webgpu init fails, and the
// report must say so (with the adapter it found), then fall back.
const adapter = {
  info: { vendor: 'fakevendor', architecture: 'fakearch', description: 'Fake GPU', isFallbackAdapter: true },
  limits: { maxStorageBufferBindingSize: 1 << 30, maxBufferSize: 1 << 30, maxComputeWorkgroupsPerDimension: 65535, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupStorageSize: 16384, maxComputeWorkgroupSizeX: 256 },
  features: new Set(['timestamp-query']),
  requestDevice: async () => { throw new Error('fake device creation failed'); },
};
const hadNavigator = 'navigator' in globalThis;
const nav = (globalThis as unknown as { navigator?: Record<string, unknown> }).navigator;
const gpu = { requestAdapter: async () => adapter };
if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });

afterAll(() => {
  if (hadNavigator && nav) delete (nav as { gpu?: unknown }).gpu;
});

describe('selectBackend with an adapter whose device fails', () => {
  it('reports the adapter, the captured init error and falls back to cpu', async () => {
    const report = await selectBackend(['webgpu', 'cpu']);
    expect(report.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    const reason = report.attempts[0].reason ?? '';
    expect(reason).toMatch(/adapter fakevendor\/fakearch, Fake GPU, fallback\/software adapter found/);
    expect(reason).toMatch(/resolved false/);
    expect(reason).toMatch(/fake device creation failed/);
    expect(report.fallbackReason).toContain('webgpu failed');
  });
});
