/**
 * config.yaml: NaN and infinite learning rates (every spelling YAML or a hand edit gives them) are
 * refused, naming the field, on their own and through the joint bundle reader.
 */
import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../src/core/errors.ts';
import { readJointBundle, readJointConfigYaml, writeBundleFiles, writeJointConfigYaml } from '../../../src/core/io/jointBundle.ts';
import { tinyCheckpoint } from './checkpointFixture.ts';

const SPELLINGS = ['.nan', '.NaN', 'NaN', 'nan', '.inf', '-.inf', '.Inf', 'inf', 'Infinity', '-Infinity', '1e999', '-1e999'];
const RATES = ['lr_rec', 'lr_id', 'finetune.lr'];

function refusal(f: () => unknown): StudioError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(StudioError);
    return e as StudioError;
  }
  throw new Error('accepted');
}

describe('config.yaml learning rates must be finite', () => {
  const c = tinyCheckpoint();
  const text = writeJointConfigYaml(c.config, c.recommenderConfig, c.tokenizerConfig);
  const withValue = (key: string, v: string) => {
    const line = new RegExp(`^${key.replace('.', '\\.')}: .*$`, 'm');
    expect(text).toMatch(line);
    return text.replace(line, `${key}: ${v}`);
  };

  it('the written file reads back', () => {
    expect(readJointConfigYaml(text).config.lr_rec).toBe(c.config.lr_rec);
  });

  for (const key of RATES) {
    it(`${key}: NaN and ±Inf in every spelling are refused naming the field`, () => {
      for (const v of SPELLINGS) expect(refusal(() => readJointConfigYaml(withValue(key, v), 'config.yaml')).info, `${key}: ${v}`).toMatchObject({ file: 'config.yaml', field: key });
    });
  }

  it('a bundle whose config.yaml has lr_rec: .nan is refused', () => {
    const files = writeBundleFiles({
      recommender: c.current.recommender, recommenderConfig: c.recommenderConfig, tokenizer: c.current.tokenizer,
      tokenizerConfig: c.tokenizerConfig, codes: c.current.codes, config: c.config, history: [],
    });
    const e = refusal(() => readJointBundle({ ...files, 'config.yaml': new TextEncoder().encode(withValue('lr_rec', '.nan')) }));
    expect(e.info.field).toBe('lr_rec');
  });
});
