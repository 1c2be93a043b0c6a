/**
 * The ablation sweep (the paper's Table 4 as an experiment) declared once: which variants, how
 * many seeds and from which seed, with ranges, help and presets. The preset's name is the joint
 * preset every run of the sweep trains with. The CLI's `etegrec ablate` flags, the studio's
 * Experiments form and the worker's check of a request all read this. No tfjs here.
 */
import { note, resolveStage, type FieldDecl, type FieldError, type PresetDecl, type StageDecl } from './fields.ts';
import { ABLATIONS, JOINT_PRESETS, JOINT_STAGE, type AblationName, type JointPresetName } from './joint.ts';

export interface SweepConfig {
  /** Ablation variants, in the paper's order. */
  variants: AblationName[];
  /** Seeds per variant. */
  seeds: number;
  /** The first seed; the others follow it (2020, 2021, …). */
  first_seed: number;
}

export const ABLATION_VARIANT_NAMES = Object.keys(ABLATIONS) as AblationName[];

/** Seeds a sweep may run per variant (each seed is six joint runs). */
export const MAX_SWEEP_SEEDS = 50;

// a sweep's seeds are joint seeds
const MAX_SEED = JOINT_STAGE.fields.find((f) => f.key === 'seed')?.max ?? 2 ** 32 - 1;

export const SWEEP_FIELDS: readonly FieldDecl[] = [
  {
    key: 'variants', kind: 'enums', label: 'variants', options: ABLATION_VARIANT_NAMES, main: true,
    help: 'the rows of Table 4 to train (no_end_to_end = two-stage, TIGER-style)',
  },
  { key: 'seeds', kind: 'int', label: 'seeds', min: 1, max: MAX_SWEEP_SEEDS, main: true, help: 'seeds per variant, each a whole joint run' },
  { key: 'first_seed', kind: 'int', label: 'first seed', min: 0, max: MAX_SEED, main: true, help: 'the first seed; the others follow it' },
];

function sweepPreset(joint: JointPresetName): PresetDecl<SweepConfig> {
  return {
    name: joint,
    description: `Table 4: every variant × 3 seeds, each a joint run of the ${joint} preset. ${JOINT_PRESETS[joint].description}`,
    values: { variants: [...ABLATION_VARIANT_NAMES], seeds: 3, first_seed: 2020 },
    provenance: {
      variants: note(['paper'], 'the six rows of Table 4'),
      seeds: note(['ours'], 'three seeds: mean ± sd and a paired comparison need more than one'),
      first_seed: note(['official'], '2020, the joint stage\'s seed (official code)'),
    },
  };
}

export const SWEEP_PRESETS: Record<JointPresetName, PresetDecl<SweepConfig>> = {
  quick: sweepPreset('quick'),
  converge: sweepPreset('converge'),
  paper: sweepPreset('paper'),
};

export const SWEEP_DECL: StageDecl<SweepConfig> = {
  stage: 'experiments',
  title: 'ablation sweep',
  fields: SWEEP_FIELDS,
  presets: SWEEP_PRESETS,
  // converge trains the sample to early stopping (≈ 20 minutes a run): the table the docs report
  defaultPreset: 'converge',
  check: (c) => (c.first_seed + c.seeds - 1 > MAX_SEED ? [{ field: 'first_seed', message: `first_seed + seeds − 1 must be ≤ ${MAX_SEED}, got ${c.first_seed + c.seeds - 1}` }] : []),
};

/** The seeds of a sweep: `seeds` of them from `first_seed`. */
export function sweepSeeds(c: SweepConfig): number[] {
  return Array.from({ length: c.seeds }, (_, i) => c.first_seed + i);
}

/** A sweep's config from its joint preset and the given values (text or typed), or the field-named errors. */
export function resolveSweep(preset: string, overrides: Record<string, unknown> = {}): { ok: true; config: SweepConfig } | { ok: false; errors: FieldError[] } {
  return resolveStage(SWEEP_DECL, preset, overrides);
}
