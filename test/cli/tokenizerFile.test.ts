/** `train --tokenizer` reads the studio's tokenizer.safetensors and the reference's RQ-VAE .pth alike. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTokenizerFile } from '../../src/cli/tokenizerFile.ts';
import { StudioError } from '../../src/core/errors.ts';
import { exportRqvaeSafetensors } from '../../src/core/tokenizer/stateDict.ts';

const fx = (n: string) => new Uint8Array(readFileSync(join(__dirname, '../core/io/fixtures', n)));

describe('readTokenizerFile', () => {
  it('reads a reference .pth (state dict and checkpoint) and the same weights written as safetensors', () => {
    for (const name of ['tiny_rqvae_state_dict.pth', 'tiny_rqvae_ckpt.pth']) {
      const pth = readTokenizerFile(fx(name), name);
      expect(Object.keys(pth.state).length, name).toBeGreaterThan(4);
      expect(pth.config.num_emb_list.length, name).toBe(3);
      const st = readTokenizerFile(exportRqvaeSafetensors(pth.state, pth.config), 'tokenizer.safetensors');
      expect(st.config).toEqual(pth.config);
      for (const [k, v] of Object.entries(pth.state)) expect(Array.from(st.state[k].data), k).toEqual(Array.from(v.data));
    }
  });

  it('refuses anything else naming the file and what was expected', () => {
    const err = (() => { try { readTokenizerFile(new TextEncoder().encode('hello, not a tokenizer'), 'x.bin'); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(StudioError);
    expect((err as StudioError).message).toMatch(/x\.bin.*Not a tokenizer file: expected tokenizer\.safetensors .* or a reference RQ-VAE \.pth/);
  });
});
