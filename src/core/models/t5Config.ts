/** The T5 backbone's configuration (spec §5.3), free of tfjs so configs and presets can import it. */
export interface T5Config {
  num_layers: number;
  num_decoder_layers: number;
  d_model: number;
  d_ff: number;
  num_heads: number;
  d_kv: number;
  relative_attention_num_buckets: number;
  relative_attention_max_distance: number;
  layer_norm_epsilon: number;
  dropout_rate: number;
}

/** Paper / reference configuration (spec §5.3). */
export const T5_PAPER: T5Config = {
  num_layers: 6,
  num_decoder_layers: 6,
  d_model: 128,
  d_ff: 512,
  num_heads: 4,
  d_kv: 64,
  relative_attention_num_buckets: 32,
  relative_attention_max_distance: 128,
  layer_norm_epsilon: 1e-6,
  dropout_rate: 0.1,
};
