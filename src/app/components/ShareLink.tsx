/**
 * "Copy share link" for a stage page (src/app/shareConfig.ts): encodes the page's preset, edited
 * values and run name as `#/<stage>/<datasetId>?cfg=…`, and restores them once when the page is
 * opened from such a link (after the presets are known). A corrupted link is reported and ignored.
 */
import { useEffect, useRef, useState } from 'react';
import { resolveSharedConfig, sharedConfigOf, stageShareHash, type ShareStage } from '../shareConfig.ts';

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
  values: Record<string, string>;
  name?: string;
  /** Applies a restored configuration (preset first, then the values, then the name). */
  apply: (c: { preset: string; values: Record<string, string>; name?: string }) => void;
}

export function ShareLink({ stage, datasetId, testId, presets, fields, preset, values, name, apply }: ShareLinkProps) {
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const [url, setUrl] = useState('');
  const restored = useRef(false);
  const applyRef = useRef(apply);
  applyRef.current = apply;
  useEffect(() => {
    if (restored.current || !presets) return;
    restored.current = true;
    const d = sharedConfigOf(location.hash);
    if (!d) return;
    if (!d.ok) { setNote({ ok: false, text: d.message }); return; }
    const r = resolveSharedConfig(d.value, presets, fields);
    if (!r.ok) { setNote({ ok: false, text: r.message }); return; }
    applyRef.current({ preset: r.preset, values: r.values, ...(r.name ? { name: r.name } : {}) });
    setNote({ ok: true, text: `Configuration restored from the shared link.${r.ignored.length ? ` Ignored: ${r.ignored.join(', ')}.` : ''}` });
  }, [presets, fields]);

  async function copy(): Promise<void> {
    const hash = stageShareHash(stage, datasetId, { v: 1, preset, values, ...(name?.trim() ? { name: name.trim() } : {}) });
    const link = `${location.origin}${location.pathname}${location.search}${hash}`;
    history.replaceState(null, '', hash);
    setUrl(link);
    try {
      await navigator.clipboard.writeText(link);
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
