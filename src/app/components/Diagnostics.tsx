/**
 * Evaluation results with their diagnostics (shared by the joint, GRPO and Experiments views): a
 * table of Recall/NDCG beside the invalid-code rate and the list/shuffle diagnostics, and the
 * collapse warning shown when a model gives (nearly) everyone the same list.
 */
import type { ReactNode } from 'react';
import { collapseOf, DIAGNOSTIC_COLUMNS, fixed, METRIC_LABELS, pct, RESULT_METRICS, shuffleDetail, type EvalLike } from '../diagnostics.ts';
import '../diagnostics.css';

export interface ResultRow {
  key: string;
  label: ReactNode;
  result: EvalLike | null;
}

export function ResultsTable({ rows, testId, rowTestId = (k) => `result-${k}` }: { rows: ResultRow[]; testId: string; rowTestId?: (key: string) => string }) {
  const k = rows.find((r) => r.result?.diagnostics)?.result?.diagnostics?.k;
  return (
    <div className="diag-table-wrap">
      <table className="compact tok-table diag-table" data-testid={testId}>
        <thead>
          <tr>
            <th>split</th>
            {RESULT_METRICS.map((m) => <th key={m} className="num">{METRIC_LABELS[m]}</th>)}
            <th className="num" title="Share of generated codes (all returned beams) that match no item">invalid</th>
            {DIAGNOSTIC_COLUMNS.map((c) => <th key={c.key} className="num" title={c.title}>{c.label}</th>)}
            <th className="num">users</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ key, label, result: r }) => (
            <tr key={key} data-testid={rowTestId(key)} data-collapsed={collapseOf(r).length > 0 ? 'true' : 'false'}>
              <th>{label}</th>
              {RESULT_METRICS.map((m) => <td key={m} className="num">{r ? fixed(r.metrics[m] ?? 0) : '—'}</td>)}
              <td className="num" data-testid="result-invalid">{r ? pct(r.invalidRate) : '—'}</td>
              {DIAGNOSTIC_COLUMNS.map((c) => (
                <td key={c.key} className={`num${r?.diagnostics && c.bad?.(r.diagnostics) ? ' diag-bad' : ''}`} data-testid={`result-${c.key}`} title={c.key === 'shuffle' ? shuffleDetail(r?.diagnostics) || undefined : undefined}>
                  {r?.diagnostics ? c.value(r.diagnostics) : '—'}
                </td>
              ))}
              <td className="num">{r ? r.count : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="small muted">
        {k ? `List statistics over each user's top ${k}; ` : 'No diagnostics stored for these results (recorded before they existed); '}
        the shuffle gap is measured on the test split.
      </p>
    </div>
  );
}

/** The warning on a run whose (test) model looks collapsed; nothing when it personalises or has no diagnostics. */
export function CollapseWarning({ result, what }: { result: EvalLike | null | undefined; what: string }) {
  const reasons = collapseOf(result);
  if (!reasons.length) return null;
  return (
    <div className="collapse-warning" role="alert" data-testid="collapse-warning">
      <strong>⚠ Collapsed model: {what} does not personalise.</strong>
      <ul data-testid="collapse-reasons">{reasons.map((r, i) => <li key={i}>{r}</li>)}</ul>
      <p className="small">
        Its recommendations (nearly) do not depend on the user&apos;s history, so its Recall/NDCG are those of one list for everyone, not a
        sign that it learned from the history. A smaller recommender learning rate and a longer schedule (as in the quick and converge
        presets) usually personalise.
      </p>
    </div>
  );
}

/** A compact marker for run lists (the reasons in its tooltip). */
export function CollapseBadge({ result }: { result: EvalLike | null | undefined }) {
  const reasons = collapseOf(result);
  if (!reasons.length) return null;
  return <span className="badge badge-bad collapse-badge" data-testid="collapse-badge" title={reasons.join('\n')}>⚠ collapsed</span>;
}
