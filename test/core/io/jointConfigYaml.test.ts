/**
 * The joint bundle's config.yaml against the joint declaration: the writer writes one line per
 * JOINT_STAGE field (then the model dims), the reader reads every file the writer writes back to
 * the same config (all three presets, an ablation variant, a custom one), and a config.yaml
 * written before the writer iterated the declaration (no `ablation` line) still reads.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJointConfigYaml, writeJointConfigYaml } from '../../../src/core/io/jointBundle.ts';
import { readFlatYaml, yamlScalar } from '../../../src/core/io/yaml.ts';
import { fieldValue } from '../../../src/core/stages/fields.ts';
import { ABLATIONS, JOINT_PRESETS, JOINT_STAGE, jointTrainConfig, type JointPresetName } from '../../../src/core/stages/joint.ts';

const rc = { t5: { ...JOINT_PRESETS.quick.values.t5 }, code_length: 4, code_num: 256, e_dim: 128, semantic_hidden_size: 64, n_items_plus_pad: 901, initializer_range: 0.02 };
const tc = { in_dim: 64, layers: [512, 256], e_dim: 128, num_emb_list: [256, 256, 256], beta: 0.25, quant_loss_weight: 1, sk_epsilons: [0, 0, 0], sk_iters: 50 };
const MODEL_KEYS = ['d_model', 'num_layers', 'num_decoder_layers', 'd_ff', 'num_heads', 'd_kv', 'relative_attention_num_buckets', 'relative_attention_max_distance',
  'layer_norm_epsilon', 'dropout_rate', 'code_num', 'code_length', 'e_dim', 'semantic_hidden_size', 'n_items', 'initializer_range',
  'rqvae.in_dim', 'rqvae.layers', 'rqvae.e_dim', 'rqvae.num_emb_list', 'rqvae.beta', 'rqvae.quant_loss_weight', 'rqvae.sk_epsilons', 'rqvae.sk_iters'];

const lineKeys = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.slice(0, l.indexOf(':')));

describe('config.yaml from the joint declaration', () => {
  it('writes one line per JOINT_STAGE field in declaration order, each its value as a YAML scalar, then the model dims', () => {
    const config = JOINT_PRESETS.quick.values;
    const text = writeJointConfigYaml(config, rc, tc);
    expect(lineKeys(text)).toEqual([...JOINT_STAGE.fields.map((f) => f.key), ...MODEL_KEYS]);
    const lines = new Map(text.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
    for (const f of JOINT_STAGE.fields) {
      const v = fieldValue(f, config)!;
      expect(lines.get(f.key), f.key).toBe(Array.isArray(v) ? `[${v.map(yamlScalar).join(', ')}]` : yamlScalar(v));
    }
    expect(lines.get('ablation')).toBe('full');
  });

  it('reads back every file it writes: the three presets, an ablation variant, a custom config', () => {
    for (const name of Object.keys(JOINT_PRESETS) as JointPresetName[]) {
      const text = writeJointConfigYaml(JOINT_PRESETS[name].values, rc, tc);
      const back = readJointConfigYaml(text);
      expect(back.config, name).toEqual(JOINT_PRESETS[name].values);
      expect(back.warnings, name).toEqual([]);
    }
    const noSia = jointTrainConfig('converge', { ablation: { ...ABLATIONS.no_sia }, lr_rec: 2.5e-10, finetune: { epochs: 3 } });
    const t1 = writeJointConfigYaml(noSia, rc, tc);
    expect(t1).toMatch(/^ablation: no_sia$/m);
    expect(t1).toMatch(/^lr_rec: 2\.5e-10$/m);
    expect(readJointConfigYaml(t1).config).toEqual(noSia);
    // switches that match no Table 4 variant: 'custom', the switches as written
    const custom = jointTrainConfig('quick', { ablation: { sia: false, psa: true, alternation: false, endToEnd: true } });
    const t2 = writeJointConfigYaml(custom, rc, tc);
    expect(t2).toMatch(/^ablation: custom$/m);
    expect(readJointConfigYaml(t2).config).toEqual(custom);
    // a config without the optional train_limit writes no line for it, and reads back with the default
    const { train_limit: _drop, ...older } = JOINT_PRESETS.paper.values;
    const t3 = writeJointConfigYaml(older, rc, tc);
    expect(t3).not.toMatch(/^train_limit:/m);
    const r3 = readJointConfigYaml(t3);
    expect(r3.config).toEqual(JOINT_PRESETS.paper.values);
    expect(r3.warnings).toEqual(['config.yaml: train_limit missing, using 0']);
  });

  it('reads a config.yaml written before the writer iterated the declaration (no ablation line)', () => {
    const text = readFileSync(resolve(__dirname, 'fixtures', 'joint-config-before-declaration.yaml'), 'utf8');
    expect(readFlatYaml(text)).not.toHaveProperty('ablation');
    const r = readJointConfigYaml(text);
    expect(r.warnings).toEqual([]);
    // the file's micro_batch_size (32) is the quick preset's value when it was written
    expect(r.config).toEqual(jointTrainConfig('quick', { epochs: 12, id_kl_loss: 1e-7, micro_batch_size: 32, ablation: { ...ABLATIONS.no_psa }, finetune: { lr: 2e-4 }, t5: { d_model: 48 } }));
    // and a hand-edited one: a variant line with switches that contradict it keeps the switches (as resolveStage)
    const edited = readJointConfigYaml(text.replace('ablation.sia: true', 'ablation: no_both\nablation.sia: true'));
    expect(edited.config.ablation).toEqual({ sia: true, psa: false, alternation: true, endToEnd: true });
  });

  it('refuses a value of the wrong type or out of range by field; unknown keys are ignored with a warning', () => {
    const text = writeJointConfigYaml(JOINT_PRESETS.quick.values, rc, tc);
    const refused: [RegExp, string, string, RegExp][] = [
      [/^epochs: .*$/m, 'epochs: "5"', 'epochs', /epochs has the wrong type/],
      [/^constrained: .*$/m, 'constrained: 1', 'constrained', /wrong type/],
      [/^ablation: .*$/m, 'ablation: none', 'ablation', /ablation must be one of full, no_sia/],
      [/^sia_sign: .*$/m, 'sia_sign: sideways', 'sia_sign', /sia_sign must be one of plus, minus/],
      [/^t5\.dropout_rate: .*$/m, 't5.dropout_rate: 1', 't5.dropout_rate', /t5\.dropout_rate must be/],
    ];
    for (const [line, repl, field, msg] of refused) {
      expect(() => readJointConfigYaml(text.replace(line, repl)), repl).toThrow(msg);
      try { readJointConfigYaml(text.replace(line, repl)); } catch (e) { expect((e as { info: { field: string } }).info.field, repl).toBe(field); }
    }
    expect(readJointConfigYaml(`${text}bogus: 1\n`).warnings).toEqual(['config.yaml: unknown key bogus ignored']);
  });
});
