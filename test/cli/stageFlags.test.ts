// Every config field of every stage has a CLI flag on the commands that run that stage, and a bad
// value exits with code 2 naming the field, before any file is read or any work is done.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { COMMANDS } from '../../src/cli/main.ts';
import { trainConfigFromArgs } from '../../src/cli/train.ts';
import { writeNpy } from '../../src/core/io/npy.ts';
import type { FieldDecl, StageDecl } from '../../src/core/stages/fields.ts';
import { EMBEDDINGS_STAGE } from '../../src/core/stages/embeddings.ts';
import { GRPO_STAGE } from '../../src/core/stages/grpo.ts';
import { JOINT_STAGE } from '../../src/core/stages/joint.ts';
import { tokenizerStage } from '../../src/core/stages/tokenizer.ts';

const dir = mkdtempSync(join(tmpdir(), 'etegrec-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// a 3-item dataset map and a 3 × 4 table: enough for rqvae to reach its config
writeFileSync(join(dir, 'x.emb_map.json'), JSON.stringify({ '[PAD]': 0, a: 1, b: 2, c: 3 }));
writeFileSync(join(dir, 'emb.npy'), writeNpy(new Float32Array(12).fill(0.5), [3, 4]));

const STAGE_COMMANDS: [string, StageDecl<object>, string[]][] = [
  ['train', JOINT_STAGE as StageDecl<object>, ['--data', dir, '--emb', 'e.npy', '--tokenizer', 't', '--out', join(dir, 'o')]],
  ['ablate', JOINT_STAGE as StageDecl<object>, ['--data', dir, '--emb', 'e.npy', '--tokenizer', 't', '--out', join(dir, 'o')]],
  ['pipeline', JOINT_STAGE as StageDecl<object>, ['input.jsonl', '--out', join(dir, 'o')]],
  ['sasrec', EMBEDDINGS_STAGE as StageDecl<object>, ['--data', dir, '--out', join(dir, 'o')]],
  ['rqvae', tokenizerStage(4) as StageDecl<object>, ['--data', dir, '--emb', join(dir, 'emb.npy'), '--out', join(dir, 'o')]],
  ['grpo', GRPO_STAGE as StageDecl<object>, ['--data', dir, '--checkpoint', dir, '--out', join(dir, 'o')]],
];

function bad(f: FieldDecl): string | null {
  if (f.kind === 'bool') return null;
  if (f.kind === 'enum') return 'nope';
  return 'abc';
}

async function run(argv: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const code = await main(argv, { stdout: () => {}, stderr: (t) => { err += t; } });
  return { code, err };
}

describe('config flags generated from the stage declarations', () => {
  for (const [name, decl, required] of STAGE_COMMANDS) {
    it(`etegrec ${name}: a flag for every ${decl.stage} field, in --help too; bad values exit 2 naming the field`, async () => {
      const cmd = COMMANDS.find((c) => c.name === name)!;
      for (const f of decl.fields) {
        expect(cmd.options[f.key], `${name} --${f.key}`).toBeDefined();
        expect(cmd.usage).toContain(`--${f.key}`);
        if (f.kind === 'bool') expect(cmd.options[`no-${f.key}`]).toBeDefined();
      }
      // every field of the joint commands is exercised; the others too (they are short)
      for (const f of decl.fields) {
        const v = bad(f);
        if (v === null) continue;
        const r = await run([name, ...required, `--${f.key}`, v]);
        expect(r.code, `${name} --${f.key} ${v}: ${r.err.slice(0, 200)}`).toBe(2);
        expect(r.err).toContain(`--${f.key}: ${f.key} must be`);
      }
    });
  }

  it('flags, aliases, --no- switches and --set combine; the same field twice with different values is refused', () => {
    const { config } = trainConfigFromArgs({ lr_rec: '7e-4', 't5.d_model': '32', batch: '16', constrained: true, 'no-forge': true, set: ['finetune.lr=1e-4'] });
    expect(config.lr_rec).toBe(7e-4);
    expect(config.t5.d_model).toBe(32);
    expect(config.batch_size).toBe(16);
    expect(config.micro_batch_size).toBe(16); // clamped to the batch
    expect(config.constrained).toBe(true);
    expect(config.forge).toBe(false);
    expect(config.finetune.lr).toBe(1e-4);
    expect(() => trainConfigFromArgs({ batch: '16', batch_size: '32' })).toThrow(/set batch_size twice/);
    expect(() => trainConfigFromArgs({ 't5.d_model': '100000' })).toThrow(/--t5\.d_model: t5\.d_model must be an integer ≥ 8 and ≤ 2048/);
    expect(() => trainConfigFromArgs({ set: ['lr_rec=NaN'] })).toThrow(/lr_rec must be a finite number/);
  });
});
