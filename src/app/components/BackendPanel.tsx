/** Header panel: the backend tfjs runs on, the adapter, its key limits, and every backend attempt. */
import { useEffect, useRef } from 'react';
import { BACKEND_CHOICES, useBackendStore, type BackendChoice } from '../stores/backend.ts';
import { formatBytes } from '../format.ts';

const KEY_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupsPerDimension',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupStorageSize',
];

function formatLimit(name: string, value: number): string {
  return /Size$/.test(name) && value >= 1024 ? formatBytes(value) : value.toLocaleString('en-US');
}

const SOURCE_TEXT = { url: 'the page address (?backend=)', saved: "this browser's choice", auto: 'auto: a real GPU if there is one, else wasm' } as const;

/** Auto, or one backend; remembered in this browser. Changing it reloads the page. */
function BackendSelect() {
  const choice = useBackendStore((s) => s.choice);
  const source = useBackendStore((s) => s.source);
  const choose = useBackendStore((s) => s.choose);
  return (
    <select className="backend-choice" data-testid="backend-choice" aria-label="Backend choice" value={source === 'url' ? '' : choice}
      title="Remembered in this browser; the page reloads to start on it (a running training is interrupted and can be resumed)"
      onChange={(e) => choose(e.target.value as BackendChoice)}>
      {source === 'url' && <option value="">from the address</option>}
      {BACKEND_CHOICES.map((c) => <option key={c} value={c}>{c}</option>)}
    </select>
  );
}

export function BackendPanel() {
  const status = useBackendStore((s) => s.status);
  const source = useBackendStore((s) => s.source);
  const report = useBackendStore((s) => s.report);
  const error = useBackendStore((s) => s.error);
  const detailsRef = useRef<HTMLDetailsElement>(null);

  // Close the details popover on a click elsewhere or Escape.
  useEffect(() => {
    const close = (e: Event) => {
      const el = detailsRef.current;
      if (!el?.open) return;
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !el.contains(e.target as Node)) el.open = false;
    };
    document.addEventListener('pointerdown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('pointerdown', close);
      document.removeEventListener('keydown', close);
    };
  }, []);

  if (status !== 'ready' || !report) {
    return (
      <div className="backend-panel" data-testid="backend-panel">
        <span className="backend-label">Backend</span>
        {status === 'failed' ? (
          <span className="badge badge-bad" data-testid="backend-name" title={error ?? ''}>
            unavailable
          </span>
        ) : (
          <span className="badge" data-testid="backend-name">starting…</span>
        )}
        {error && <span className="backend-error">{error}</span>}
      </div>
    );
  }

  const { adapter, attempts, fallbackReason } = report;
  const preferred = report.preference[0];
  const usedFallback = report.backend !== preferred;
  // auto passing over a software GPU adapter is the intended choice, not a failure
  const autoChoice = source === 'auto' && usedFallback && attempts.some((a) => a.backend === 'webgpu' && !a.ok && /software/.test(a.reason ?? ''));
  return (
    <div className="backend-panel" data-testid="backend-panel">
      <span className="backend-label">Backend</span>
      <BackendSelect />
      <span className={`badge ${usedFallback && !autoChoice ? 'badge-warn' : 'badge-ok'}`} data-testid="backend-name">
        {report.backend}
      </span>
      {report.backend === 'wasm' && report.wasmThreads !== undefined && (
        <span className="badge" data-testid="backend-threads"
          title={report.wasmThreadedBinary ? 'threaded SIMD wasm binary (cross-origin isolated page)' : 'single-threaded wasm binary'}>
          {report.wasmThreads} {report.wasmThreads === 1 ? 'thread' : 'threads'}
        </span>
      )}
      {adapter ? (
        <span className="backend-adapter" data-testid="adapter-info">
          {[adapter.vendor, adapter.architecture].filter(Boolean).join(' / ') || 'unknown adapter'}
          {adapter.isFallbackAdapter && (
            <span className="badge badge-warn" data-testid="adapter-fallback" title="isFallbackAdapter: a software adapter; use it for correctness, not speed">
              fallback adapter
            </span>
          )}
        </span>
      ) : (
        <span className="muted">no GPU adapter</span>
      )}
      {autoChoice ? (
        <span className="backend-reason small muted" data-testid="backend-auto-reason" title={fallbackReason}>
          auto: the only WebGPU adapter is a software one, slower than wasm here
        </span>
      ) : usedFallback && (
        <span className="backend-reason" title={fallbackReason}>
          <span className="badge badge-warn">fell back from {preferred}</span> {fallbackReason}
        </span>
      )}
      <details className="backend-details" ref={detailsRef}>
        <summary>details</summary>
        <div className="backend-popover">
          <dl className="kv">
            <dt>Backend in use</dt>
            <dd>{report.backend}</dd>
            <dt>Chosen by</dt>
            <dd data-testid="backend-source">{SOURCE_TEXT[source]}</dd>
            <dt>Preference</dt>
            <dd>{report.preference.join(' → ')}</dd>
            {report.backend === 'wasm' && (
              <>
                <dt>wasm threads</dt>
                <dd data-testid="backend-wasm-binary">
                  {report.wasmThreads ?? '?'} ({report.wasmThreadedBinary ? 'threaded SIMD binary' : 'single-threaded binary: threads need a cross-origin isolated page'})
                </dd>
              </>
            )}
            {fallbackReason && (
              <>
                <dt>Fallback reason</dt>
                <dd data-testid="fallback-reason">{fallbackReason}</dd>
              </>
            )}
            {adapter && (
              <>
                <dt>Vendor</dt>
                <dd>{adapter.vendor || '—'}</dd>
                <dt>Architecture</dt>
                <dd>{adapter.architecture || '—'}</dd>
                <dt>Description</dt>
                <dd>{adapter.description || '—'}</dd>
                <dt>isFallbackAdapter</dt>
                <dd data-testid="adapter-is-fallback">{String(adapter.isFallbackAdapter)}</dd>
                <dt>Features</dt>
                <dd>{adapter.features.length ? adapter.features.join(', ') : 'none'}</dd>
                {KEY_LIMITS.filter((k) => adapter.limits[k] !== undefined).map((k) => (
                  <div key={k} className="kv-row">
                    <dt>{k}</dt>
                    <dd>{formatLimit(k, adapter.limits[k])}</dd>
                  </div>
                ))}
              </>
            )}
          </dl>
          <h4>Attempts</h4>
          <ol className="attempts" data-testid="backend-attempts">
            {attempts.map((a, i) => (
              <li key={i}>
                <span className={`badge ${a.ok ? 'badge-ok' : 'badge-bad'}`}>{a.backend}</span>{' '}
                {a.ok ? (a.backend === report.backend ? 'in use' : 'available') : a.reason ?? 'failed'}
              </li>
            ))}
          </ol>
        </div>
      </details>
    </div>
  );
}
