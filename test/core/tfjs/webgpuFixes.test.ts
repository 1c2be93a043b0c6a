/**
 * The tfjs-backend-webgpu 4.22 work-arounds (src/core/tfjs/webgpuFixes.ts) on a real WebGPU
 * implementation: Dawn (npm `webgpu`) on Chromium's SwiftShader Vulkan driver, which CI installs
 * with Debian's chromium. Without that driver (or the package) the suite is skipped with the reason.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../../../src/core/backend.ts';
import { setWebGpuFixes, webGpuFixCounts } from '../../../src/core/tfjs/webgpuFixes.ts';
import { trainJoint } from '../../../src/core/train/joint.ts';
import type { JointResult } from '../../../src/core/train/jointTypes.ts';
import { TINY_TOK, tinyJointConfig, tinyJointData, tinyTokenizerState } from '../train/tinyJoint.ts';

const ICD = process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json';
const haveDriver = existsSync(ICD);

/** navigator.gpu from the npm `webgpu` package (Dawn); false when it cannot load. */
async function installNodeWebGpu(): Promise<boolean> {
  process.env.VK_ICD_FILENAMES = ICD; // read by the Vulkan loader when Dawn creates its instance
  try {
    const mod = (await import('webgpu')) as unknown as { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
    Object.assign(globalThis, mod.globals);
    const g = globalThis as unknown as { navigator?: Record<string, unknown> };
    Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: mod.create([]) }, configurable: true, writable: true });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!haveDriver)(`webgpu fixes (Dawn + ${ICD})`, () => {
  beforeAll(async () => {
    expect(await installNodeWebGpu()).toBe(true);
    // needs the Vulkan loader too (`apt-get install libvulkan1`; .ci/run installs it)
    const report = await selectBackend(['webgpu']);
    expect(report.backend).toBe('webgpu');
    // small ops would otherwise run on the CPU inside the webgpu backend and hide the bugs
    tf.env().set('WEBGPU_CPU_FORWARD', false);
  }, 120_000);
  afterAll(() => setWebGpuFixes(true));

  /** Reductions over a non-innermost axis and a transpose of int/bool tensors cast to float32. */
  const reduceCases = async () => {
    const start = tf.memory().numTensors;
    const x = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [1, 4, 2], 'int32');
    const f = tf.cast(x, 'float32');
    const signed = tf.tensor3d([1, -1, 2, 3, -4, 5], [1, 3, 2]);
    const zero = tf.scalar(0);
    const bools = tf.greater(signed, zero);
    const b = tf.cast(bools, 'float32');
    const made = [tf.sum(f, 1), tf.transpose(f, [0, 2, 1]), tf.argMax(f, 1), tf.sum(b, 1)];
    const [sumAxis1, transposed, argMaxAxis1, boolSumAxis1] = await Promise.all(made.map(async (t) => Array.from(await t.data())));
    tf.dispose([x, f, signed, zero, bools, b, ...made]);
    return { sumAxis1, transposed, argMaxAxis1, boolSumAxis1, leaked: tf.memory().numTensors - start };
  };

  it('stock tfjs 4.22 loses int32 → float32 casts under a transpose (the bug being worked around)', async () => {
    setWebGpuFixes(false);
    const out = await reduceCases();
    setWebGpuFixes(true);
    expect(out.sumAxis1).not.toEqual([16, 20]);
  });

  it('with the fix, reductions and transposes of cast tensors are right and nothing leaks', async () => {
    const before = webGpuFixCounts().casts;
    const out = await reduceCases();
    expect(out.sumAxis1).toEqual([16, 20]);
    expect(out.transposed).toEqual([1, 3, 5, 7, 2, 4, 6, 8]);
    expect(out.argMaxAxis1).toEqual([3, 3]);
    expect(out.boolSumAxis1).toEqual([2, 2]);
    expect(webGpuFixCounts().casts).toBe(before + 2);
    expect(out.leaked).toBe(0);
  });

  it('addN over more inputs than a shader may bind sums correctly (clipping sums one square per parameter)', async () => {
    const before = webGpuFixCounts().addNs;
    for (const n of [7, 8, 10, 35]) {
      const xs = Array.from({ length: n }, (_, i) => tf.fill([3], i + 1));
      const s = tf.addN(xs);
      expect(Array.from(await s.data())).toEqual([0, 1, 2].map(() => (n * (n + 1)) / 2));
      tf.dispose([...xs, s]);
    }
    expect(webGpuFixCounts().addNs).toBe(before + 3);
  });

  it('a tiny joint training gives the same losses, codes and metrics on webgpu as on wasm', async () => {
    const cfg = tinyJointConfig({ epochs: 2, eval_batch_size: 10, finetune: { epochs: 0 } });
    const run = async (): Promise<JointResult> =>
      trainJoint(tinyJointData(), cfg, { tokenizer: { state: await tinyTokenizerState(), config: TINY_TOK }, maxEpochs: 2 });
    tf.env().set('WEBGPU_CPU_FORWARD', true); // the default in the studio
    const gpu = await run();
    expect(await tf.setBackend('wasm')).toBe(true);
    const wasm = await run();
    expect(await tf.setBackend('webgpu')).toBe(true);
    const hg = gpu.checkpoint.history;
    const hw = wasm.checkpoint.history;
    expect(hg.map((h) => h.phase)).toEqual(['tokenizer', 'recommender']);
    for (let e = 0; e < hw.length; e++) {
      for (const k of Object.keys(hw[e].loss) as (keyof typeof hw[0]['loss'])[]) {
        expect(hg[e].loss[k]).toBeCloseTo(hw[e].loss[k], 4);
      }
    }
    expect(hg[0].codes?.churn).toBe(hw[0].codes?.churn);
    expect(hg[0].codes?.collisionRate).toBe(hw[0].codes?.collisionRate);
    expect(gpu.test?.metrics).toEqual(wasm.test?.metrics);
  }, 400_000);
});
