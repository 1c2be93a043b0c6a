/** A clear error box: the one-line formatted error, its code, and the first problems with line numbers. */
import { formatStudioError, type StudioErrorInfo } from '../../core/errors.ts';

interface Problem {
  line?: number;
  file?: string;
  reason: string;
}

/** Reads the first problems out of `error.details` in the shapes the parsers use. */
export function extractProblems(details: unknown): Problem[] {
  const fromList = (list: unknown[]): Problem[] =>
    list.flatMap((p) => {
      if (typeof p === 'string') return [{ reason: p }];
      if (p && typeof p === 'object') {
        const o = p as Record<string, unknown>;
        const reason = o.reason ?? o.message;
        if (typeof reason === 'string') {
          return [{
            reason,
            line: typeof o.line === 'number' ? o.line : undefined,
            file: typeof o.file === 'string' ? o.file : undefined,
          }];
        }
      }
      return [];
    });
  if (Array.isArray(details)) return fromList(details);
  if (details && typeof details === 'object') {
    const o = details as Record<string, unknown>;
    for (const key of ['problems', 'malformed', 'lines', 'errors']) {
      if (Array.isArray(o[key])) return fromList(o[key] as unknown[]);
    }
    // A parse report nested under a key (e.g. { report: ParseReport }).
    for (const v of Object.values(o)) {
      if (v && typeof v === 'object' && Array.isArray((v as Record<string, unknown>).problems)) {
        return fromList((v as { problems: unknown[] }).problems);
      }
    }
  }
  return [];
}

function otherDetails(details: unknown): string | null {
  if (details === undefined || details === null) return null;
  if (extractProblems(details).length > 0) return null;
  if (typeof details === 'string') return details;
  try {
    const text = JSON.stringify(details, null, 2);
    return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
  } catch {
    return null;
  }
}

export function ErrorBox({ error, title, onDismiss }: { error: StudioErrorInfo; title?: string; onDismiss?: () => void }) {
  const problems = extractProblems(error.details);
  const other = otherDetails(error.details);
  return (
    <div className="error-box" role="alert" data-testid="error-box" data-code={error.code}>
      <div className="error-head">
        <strong>{title ?? 'Error'}</strong>
        <code className="error-code">{error.code}</code>
        {onDismiss && (
          <button type="button" className="link-button" onClick={onDismiss}>
            Dismiss
          </button>
        )}
      </div>
      <p className="error-message" data-testid="error-message">{formatStudioError(error)}</p>
      {problems.length > 0 && (
        <>
          <p className="muted">First problems found:</p>
          <ul className="problem-list" data-testid="error-problems">
            {problems.slice(0, 20).map((p, i) => (
              <li key={i}>
                {p.file && <span className="mono">{p.file} </span>}
                {p.line !== undefined && <span className="mono">line {p.line}: </span>}
                {p.reason}
              </li>
            ))}
          </ul>
        </>
      )}
      {other && (
        <details>
          <summary>Details</summary>
          <pre className="mono small">{other}</pre>
        </details>
      )}
    </div>
  );
}
