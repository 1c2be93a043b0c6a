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

describe('selectBackend with skipSoftwareAdapter (the studio\'s auto)', () => {
  it('passes over a fallback/software adapter before creating a device, and says why', async () => {
    let devices = 0;
    const original = gpu.requestAdapter;
    gpu.requestAdapter = async () => ({ ...adapter, requestDevice: async () => { devices++; throw new Error('must not be asked'); } });
    try {
      const report = await selectBackend(['webgpu', 'cpu'], { skipSoftwareAdapter: true });
      expect(report.backend).toBe('cpu');
      expect(devices).toBe(0);
      expect(report.attempts[0]).toMatchObject({ backend: 'webgpu', ok: false });
      expect(report.attempts[0].reason).toMatch(/the only adapter is a software one \(fakevendor\/fakearch.*\), slower than wasm here/);
    } finally {
      gpu.requestAdapter = original;
    }
  });

  it('keeps a software adapter when webgpu is the only choice (asked for explicitly)', async () => {
    const err = await selectBackend(['webgpu'], { skipSoftwareAdapter: true }).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/No tfjs backend could be started/);
    expect(err?.message).not.toMatch(/software one/);
  });
});
