import { describe, expect, it } from 'vitest';
import {
  decodeShareConfig, decodeShareLink, encodeShareConfig, hashParams, jointShareHash, resolveShareLink, restoreFromHash, shareLinkFor,
  sharedConfigOf, sharedLinkOf, stageShareHash, type SharedConfigV1, type SharedConfigV2,
} from '../../src/app/shareConfig.ts';
import { parseRoute } from '../../src/app/route.ts';
import { formValuesOf, type StageDecl, type StageName } from '../../src/core/stages/fields.ts';
import { EMBEDDINGS_STAGE } from '../../src/core/stages/embeddings.ts';
import { GRPO_STAGE } from '../../src/core/stages/grpo.ts';
import { JOINT_STAGE } from '../../src/core/stages/joint.ts';
import { tokenizerStage } from '../../src/core/stages/tokenizer.ts';

const DECLS: Record<StageName, StageDecl<object>> = {
  embeddings: EMBEDDINGS_STAGE as StageDecl<object>,
  tokenizer: tokenizerStage() as StageDecl<object>,
  joint: JOINT_STAGE as StageDecl<object>,
  grpo: GRPO_STAGE as StageDecl<object>,
};
const keys = (d: StageDecl<object>) => d.fields.map((f) => f.key);
const pageOf = (stage: StageName, fields = keys(DECLS[stage])) => ({ stage, decl: DECLS[stage], presets: Object.keys(DECLS[stage].presets), fields });
const formOf = (stage: StageName, preset: string) => formValuesOf(DECLS[stage], DECLS[stage].presets[preset].values);

const v2: SharedConfigV2 = { v: 2, stage: 'joint', preset: 'quick', overrides: { epochs: '3', 't5.d_model': '16', ablation: 'no_sia' }, inputs: { embeddingId: 'emb-1', tokenizerId: 'tok-é' }, name: 'run "x" ünï' };

describe('share URL codec (v2)', () => {
  it('round-trips through the hash and the route', () => {
    const hash = stageShareHash('joint', 'ds/1', v2);
    expect(hash).toMatch(/^#\/joint\/ds%2F1\?cfg=[A-Za-z0-9_-]+$/);
    expect(parseRoute(hash)).toEqual({ page: 'joint', datasetId: 'ds/1' });
    expect(sharedLinkOf(hash)).toEqual({ ok: true, value: v2 });
    expect(decodeShareLink(encodeShareConfig(v2))).toEqual({ ok: true, value: v2 });
    expect(sharedLinkOf('#/joint/ds')).toBeNull();
    expect(hashParams('#/runs').get('cfg')).toBeNull();
    for (const stage of ['tokenizer', 'embeddings', 'grpo'] as const) {
      const h = stageShareHash(stage, 'ds/1', { ...v2, stage });
      expect(parseRoute(h)).toEqual({ page: stage, datasetId: 'ds/1' });
      expect(sharedLinkOf(h)).toEqual({ ok: true, value: { ...v2, stage } });
    }
  });

  it('refuses a corrupted link with a clear message', () => {
    const enc = encodeShareConfig(v2);
    const cases: unknown[] = [{ ...v2, v: 3 }, { v: 1 }, { v: 2 }, { ...v2, stage: 'data' }, { ...v2, overrides: { epochs: 3 } }, { ...v2, inputs: 'emb' }, { ...v2, inputs: { embeddingId: 1 } }, { ...v2, name: 7 }, [1]];
    for (const bad of [enc.slice(0, enc.length - 7), 'not base64!', ...cases.map((c) => encodeShareConfig(c as never))]) {
      const r = decodeShareLink(bad);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.message).toMatch(/could not be read .*ignored/);
    }
    const r = decodeShareLink(encodeShareConfig({ ...v2, overrides: { epochs: 3 } } as never));
    expect(!r.ok && r.message).toMatch(/"epochs" is not text/);
  });

  it('carries only the fields whose text differs from the preset, as formatFieldValue writes them', () => {
    const values = { ...formOf('tokenizer', 'quick'), epochs: '7', lr: '0.0010', weight_decay: '2e-4', layers: '[64, 32]', seed: 'x' };
    const link = shareLinkFor(DECLS.tokenizer, { preset: 'quick', values, fields: keys(DECLS.tokenizer).filter((k) => k !== 'in_dim'), inputs: {}, name: '  n  ' });
    // lr 0.0010 is the preset's 1e-3; an unparsable value is carried as typed (the receiver reports it)
    expect(link).toEqual({ v: 2, stage: 'tokenizer', preset: 'quick', overrides: { epochs: '7', weight_decay: '0.0002', layers: '64,32', seed: 'x' }, name: 'n' });
    expect(shareLinkFor(DECLS.grpo, { preset: 'paper', values: formOf('grpo', 'paper') })).toEqual({ v: 2, stage: 'grpo', preset: 'paper', overrides: {} });
  });
});

describe('a link checked against the page (stage declaration)', () => {
  it('refuses another stage and an unknown preset', () => {
    const r = resolveShareLink({ ...v2, stage: 'grpo' }, pageOf('joint'));
    expect(!r.ok && r.message).toMatch(/for the grpo stage, not this page's \(joint\)/);
    const p = resolveShareLink({ ...v2, preset: 'huge' }, pageOf('joint'));
    expect(!p.ok && p.message).toMatch(/unknown preset "huge"/);
    // a preset the page does not offer (not loaded) is unknown too
    expect(resolveShareLink(v2, { ...pageOf('joint'), presets: ['paper'] }).ok).toBe(false);
    // the joint ConfigPanel's reader refuses a v2 link of another stage on its hash
    const h = stageShareHash('grpo', 'd', { ...v2, stage: 'grpo' }).replace('#/grpo/', '#/joint/');
    const d = sharedConfigOf(h);
    expect(d && !d.ok && d.message).toMatch(/grpo stage/);
  });

  it('ignores keys that are no field the page edits and reports bad values by field, applying the rest', () => {
    const link: SharedConfigV2 = { v: 2, stage: 'tokenizer', preset: 'quick', overrides: { epochs: '9', bogus: '1', in_dim: '64', lr: '-1', num_emb_list: '8,8', batch: '128' } };
    const r = resolveShareLink(link, pageOf('tokenizer', keys(DECLS.tokenizer).filter((k) => k !== 'in_dim')));
    if (!r.ok) throw new Error(r.message);
    // 'batch' is batch_size's alias
    expect(r.values).toEqual({ epochs: '9', batch_size: '128' });
    expect(r.ignored).toEqual(['bogus', 'in_dim']);
    expect(r.bad.map((e) => e.field)).toEqual(['lr', 'num_emb_list']);
    expect(r.bad[0].message).toMatch(/^lr must be a finite number > 0/);
    const restored = restoreFromHash(stageShareHash('tokenizer', 'd', link), pageOf('tokenizer', keys(DECLS.tokenizer).filter((k) => k !== 'in_dim')));
    expect(restored.apply).toEqual({ preset: 'quick', values: { epochs: '9', batch_size: '128' } });
    expect(restored.note?.ok).toBe(false);
    expect(restored.note?.text).toMatch(/^Configuration restored from the shared link\. Ignored: bogus, in_dim\. Not applied: lr must be .*; num_emb_list must be 3 comma-separated integers/);
  });

  it('restores every stage: the form after preset + the link\'s values is the form that made the link', () => {
    const edits: Record<StageName, Record<string, string>> = {
      embeddings: { epochs: '4', learning_rate: '0.005', hidden_dropout_prob: '0.3' },
      tokenizer: { epochs: '7', num_emb_list: '64,64,64', kmeans_init: 'false' },
      joint: { epochs: '3', 't5.d_model': '48', ablation: 'no_sia', constrained: 'true' },
      grpo: { group_size: '8', valid_limit: '100', lr: '0.00002' },
    };
    for (const stage of Object.keys(edits) as StageName[]) {
      const preset = DECLS[stage].defaultPreset;
      const form = { ...formOf(stage, preset), ...edits[stage] };
      const link = shareLinkFor(DECLS[stage], { preset, values: form, inputs: { x: 'y' }, name: 'r' });
      expect(Object.keys(link.overrides).sort()).toEqual(Object.keys(edits[stage]).sort());
      const r = restoreFromHash(stageShareHash(stage, 'd', link), pageOf(stage));
      expect(r.note).toEqual({ ok: true, text: 'Configuration restored from the shared link.' });
      expect(r.apply?.preset).toBe(preset);
      expect(r.apply?.inputs).toEqual({ x: 'y' });
      expect(r.apply?.name).toBe('r');
      expect({ ...formOf(stage, preset), ...r.apply?.values }).toEqual(form);
    }
  });
});

describe('v1 links made before the stage declarations', () => {
  // Built as the old encoder did: base64url(JSON.stringify({v: 1, preset, values, embeddingId, tokenizerId, name})),
  // values = the joint form's full text map of the time (quick preset, epochs 3, t5.d_model 48, no_sia).
  const JOINT_V1 =
    'eyJ2IjoxLCJwcmVzZXQiOiJxdWljayIsInZhbHVlcyI6eyJlcG9jaHMiOiIzIiwiZmluZXR1bmUuZXBvY2hzIjoiMiIsImJhdGNoX3NpemUiOiI2NCIsIm1pY3JvX2JhdGNoX3NpemUiOiIzMiIsImN5Y2xlIjoiNCIsIndhcm1fZXBvY2giOiIyIiwiZXZhbF9zdGVwIjoiNCIsImVhcmx5X3N0b3AiOiIzIiwid2FybXVwX3N0ZXBzIjoiNTAiLCJscl9yZWMiOiIwLjAwMSIsImxyX2lkIjoiMC4wMDAxIiwibnVtX2JlYW1zIjoiMjAiLCJyZXR1cm5fYmVhbXMiOiIxMCIsImV2YWxfYmF0Y2hfc2l6ZSI6IjY0IiwiZXZhbF9saW1pdCI6IjQwMCIsInRyYWluX2xpbWl0IjoiMCIsIm1heF9oaXN0b3J5IjoiMTAiLCJsZW5ndGhfYnVja2V0IjoiNSIsInNpYV9zaWduIjoicGx1cyIsImNvbnN0cmFpbmVkIjoiZmFsc2UiLCJhYmxhdGlvbiI6Im5vX3NpYSIsInNlZWQiOiIyMDIwIiwidDUuZF9tb2RlbCI6IjQ4IiwidDUubnVtX2xheWVycyI6IjIiLCJ0NS5udW1fZGVjb2Rlcl9sYXllcnMiOiIyIiwidDUubnVtX2hlYWRzIjoiMiIsInQ1LmRfa3YiOiIzMiIsInQ1LmRfZmYiOiIyNTYifSwiZW1iZWRkaW5nSWQiOiJlbWItMSIsInRva2VuaXplcklkIjoidG9rLTEiLCJuYW1lIjoic2hhcmVkIHJ1biJ9';
  // The tokenizer and SASRec pages wrote the edits as JSON text; the GRPO page wrote '' for "all".
  const TOK_V1 = 'eyJ2IjoxLCJwcmVzZXQiOiJxdWljayIsInZhbHVlcyI6eyJlcG9jaHMiOiI3IiwibGF5ZXJzIjoiWzE2XSIsImttZWFuc19pbml0IjoiZmFsc2UifX0';
  const SAS_V1 = 'eyJ2IjoxLCJwcmVzZXQiOiJxdWljayIsInZhbHVlcyI6eyJlcG9jaHMiOiI0IiwiaGlkZGVuX2FjdCI6IlwiZ2VsdVwiIiwibGVhcm5pbmdfcmF0ZSI6IjAuMDA1In0sIm5hbWUiOiJzYXMifQ';
  const GRPO_V1 = 'eyJ2IjoxLCJwcmVzZXQiOiJwYXBlciIsInZhbHVlcyI6eyJncm91cF9zaXplIjoiOCIsInZhbGlkX2xpbWl0IjoiIiwidGVzdF9saW1pdCI6IjEwMCJ9fQ';

  it('restores the joint v1 link: its edits, its inputs and its name', () => {
    const d = decodeShareLink(JOINT_V1);
    expect(d.ok && d.value.v).toBe(1);
    const r = restoreFromHash(`#/joint/ds?cfg=${JOINT_V1}`, pageOf('joint'));
    expect(r.note).toEqual({ ok: true, text: 'Configuration restored from the shared link.' });
    // micro_batch_size 32 was the quick preset's value when the link was made: it stays the link's
    expect(r.apply).toEqual({ preset: 'quick', values: { epochs: '3', 't5.d_model': '48', ablation: 'no_sia', micro_batch_size: '32' }, inputs: { embeddingId: 'emb-1', tokenizerId: 'tok-1' }, name: 'shared run' });
    // the joint ConfigPanel's reader still sees it as it was
    const c = sharedConfigOf(`#/joint/ds?cfg=${JOINT_V1}`);
    expect(c?.ok && c.value).toMatchObject({ v: 1, preset: 'quick', embeddingId: 'emb-1', tokenizerId: 'tok-1', name: 'shared run' });
    expect(c?.ok && c.value.values.epochs).toBe('3');
  });

  it('restores the JSON-text v1 links of the tokenizer and SASRec pages and the GRPO page\'s empty "all"', () => {
    const tok = restoreFromHash(`#/tokenizer/ds?cfg=${TOK_V1}`, pageOf('tokenizer'));
    expect(tok.apply).toEqual({ preset: 'quick', values: { epochs: '7', layers: '16', kmeans_init: 'false' } });
    const sas = restoreFromHash(`#/embeddings/ds?cfg=${SAS_V1}`, pageOf('embeddings'));
    // hidden_act "gelu" is the preset's value: nothing to set
    expect(sas.apply).toEqual({ preset: 'quick', values: { epochs: '4', learning_rate: '0.005' }, name: 'sas' });
    expect(sas.note?.ok).toBe(true);
    const grpo = restoreFromHash(`#/grpo/ds?cfg=${GRPO_V1}`, pageOf('grpo'));
    expect(grpo.note?.ok).toBe(true);
    expect(grpo.apply?.values.group_size).toBe('8');
    expect(grpo.apply?.values.test_limit).toBe('100');
  });

  it('the joint page\'s v1 configuration is written as a v2 link and read back in its shape', () => {
    const form = { ...formOf('joint', 'quick'), epochs: '3', 't5.d_model': '48', ablation: 'no_sia' };
    const c: SharedConfigV1 = { v: 1, preset: 'quick', values: form, embeddingId: 'emb-1', tokenizerId: 'tok-1', name: 'shared run' };
    const hash = jointShareHash('ds/1', c);
    expect(sharedLinkOf(hash)).toEqual({ ok: true, value: { v: 2, stage: 'joint', preset: 'quick', overrides: { epochs: '3', 't5.d_model': '48', ablation: 'no_sia' }, inputs: { embeddingId: 'emb-1', tokenizerId: 'tok-1' }, name: 'shared run' } });
    expect(sharedConfigOf(hash)).toEqual({ ok: true, value: { v: 1, preset: 'quick', values: { epochs: '3', 't5.d_model': '48', ablation: 'no_sia' }, embeddingId: 'emb-1', tokenizerId: 'tok-1', name: 'shared run' } });
    expect(decodeShareConfig(JOINT_V1)).toEqual({ ok: true, value: (decodeShareLink(JOINT_V1) as { value: unknown }).value });
  });
});
