/**
 * "Copy share link" for a stage page (src/app/shareConfig.ts): encodes the page's preset, the values
 * that differ from it (read against the stage's declaration), its inputs and run name as
 * `#/<stage>/<datasetId>?cfg=…`, and restores them once when the page is opened from such a link
 * (after the presets are known; v1 links of before still restore). A corrupted link is reported and
 * ignored; keys that are no field of the page are named and ignored; values that do not parse are
 * named and not applied, the link's other values are.
 */
import { useEffect, useRef, useState } from 'react';
import type { StageDecl } from '../../core/stages/fields.ts';
import { EMBEDDINGS_STAGE } from '../../core/stages/embeddings.ts';
import { GRPO_STAGE } from '../../core/stages/grpo.ts';
import { JOINT_STAGE } from '../../core/stages/joint.ts';
import { tokenizerStage } from '../../core/stages/tokenizer.ts';
import { restoreFromHash, shareLinkFor, stageShareHash, type ShareStage } from '../shareConfig.ts';

/** The declaration a stage's link is read against when the page gives none (tokenizer: 256-d inputs). */
export function defaultShareDecl(stage: ShareStage): StageDecl<object> {
  switch (stage) {
    case 'embeddings': return EMBEDDINGS_STAGE as StageDecl<object>;
    case 'tokenizer': return tokenizerStage() as StageDecl<object>;
    case 'joint': return JOINT_STAGE as StageDecl<object>;
    case 'grpo': return GRPO_STAGE as StageDecl<object>;
  }
}

export interface ShareLinkProps {
  stage: ShareStage;
  datasetId: string;
  /** data-testid prefix: `<prefix>-share`, `<prefix>-share-url`, `<prefix>-share-note`. */
  testId: string;
  /** The preset names, null until they are loaded. */
  presets: readonly string[] | null;
  /** The keys of the values the page edits. */
  fields: readonly string[];
  preset: string;
  /** The text of the page's fields (the link carries those that differ from the preset). */
  values: Record<string, string>;
  name?: string;
  /** What the run reads besides its config (e.g. embeddingId, tokenizerId): carried as given. */
  inputs?: Record<string, string>;
  /** The declaration the values are read against (default the stage's; the tokenizer page's depends on the table width). */
  decl?: StageDecl<object>;
  /**
   * Applies a restored configuration: set the preset first, then `values` (only the fields that
   * differ from the preset, as formatFieldValue writes them), then the inputs and the name.
   */
  apply: (c: { preset: string; values: Record<string, string>; inputs?: Record<string, string>; name?: string }) => void;
}

export function ShareLink({ stage, datasetId, testId, presets, fields, preset, values, name, inputs, decl, apply }: ShareLinkProps) {
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const [url, setUrl] = useState('');
  const restored = useRef(false);
  const applyRef = useRef(apply);
  applyRef.current = apply;
  const declRef = useRef(decl);
  declRef.current = decl;
  useEffect(() => {
    if (restored.current || !presets) return;
    restored.current = true;
    const r = restoreFromHash(location.hash, { stage, decl: declRef.current ?? defaultShareDecl(stage), presets, fields });
    if (r.apply) applyRef.current(r.apply);
    if (r.note) setNote(r.note);
  }, [presets, fields, stage]);

  async function copy(): Promise<void> {
    const link = shareLinkFor(decl ?? defaultShareDecl(stage), { preset, values, fields, ...(inputs ? { inputs } : {}), ...(name !== undefined ? { name } : {}) });
    const hash = stageShareHash(stage, datasetId, link);
    const href = `${location.origin}${location.pathname}${location.search}${hash}`;
    history.replaceState(null, '', hash);
    setUrl(href);
    try {
      await navigator.clipboard.writeText(href);
      setNote({ ok: true, text: 'Share link copied to the clipboard.' });
    } catch {
      setNote({ ok: true, text: 'The clipboard is not available here: copy the link below.' });
    }
  }

  return (
    <div className="share-link">
      <button type="button" data-testid={`${testId}-share`} title="A link that opens this page with this preset and these values" disabled={!presets} onClick={() => void copy()}>
        Copy share link
      </button>
      {note && <p className={`small${note.ok ? ' muted' : ' error-text'}`} data-testid={`${testId}-share-note`}>{note.text}</p>}
      {url && <input className="mono small" readOnly data-testid={`${testId}-share-url`} value={url} size={60} onFocus={(e) => e.target.select()} />}
    </div>
  );
}
