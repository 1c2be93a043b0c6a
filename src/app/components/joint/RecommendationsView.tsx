/** One user's history, the top generated codes (item or "invalid"), the held-out target and its hit rank. */
import { useEffect, useState } from 'react';
import type { JointRunSummary } from '../../../../workers/jointApi.ts';
import { useJointStore } from '../../stores/joint.ts';
import { ErrorBox } from '../ErrorBox.tsx';

const code = (c: number[]) => `⟨${c.join(', ')}⟩`;

export function RecommendationsView({ run }: { run: JointRunSummary }) {
  const recs = useJointStore((s) => s.recs);
  const show = useJointStore((s) => s.showRecommendations);
  const [split, setSplit] = useState<'valid' | 'test'>('test');
  const [index, setIndex] = useState('0');

  useEffect(() => { void show(run.id, { split: 'test', sampleIndex: 0 }); }, [run.id, show]);

  const d = recs.runId === run.id ? recs.data : null;
  const go = (i: number) => { setIndex(String(i)); void show(run.id, { split, sampleIndex: i }); };
  return (
    <section className="card" data-testid="joint-recs-view">
      <h3>Recommendations — {run.name}</h3>
      <div className="row tok-controls">
        <label>Split{' '}
          <select data-testid="joint-rec-split" value={split} onChange={(e) => setSplit(e.target.value as 'valid' | 'test')}>
            <option value="test">test</option><option value="valid">valid</option>
          </select>
        </label>
        <label>User (sample #){' '}
          <input data-testid="joint-rec-index" value={index} size={6} onChange={(e) => setIndex(e.target.value)} />
        </label>
        <button type="button" data-testid="joint-rec-show" disabled={recs.loading} onClick={() => go(Number(index))}>Show</button>
        <button type="button" data-testid="joint-rec-next" disabled={recs.loading || !d} onClick={() => go((d?.sampleIndex ?? 0) + 1)}>Next user</button>
        {recs.loading && <span className="muted">generating…</span>}
      </div>
      {recs.runId === run.id && recs.error && <ErrorBox error={recs.error} title="Could not generate" />}
      {d && (
        <div data-testid="joint-rec-result" data-hit-rank={d.hitRank}>
          <p className="small">
            User <strong data-testid="joint-rec-user">{d.userId}</strong> ({d.split} sample {d.sampleIndex + 1} of {d.sampleCount}) · beam search with {d.beams} beams
            {d.constrained ? ', constrained to real items' : ', unconstrained (invalid codes occupy ranks, as the reference)'}.
          </p>
          <div className="row" style={{ alignItems: 'flex-start', gap: '2rem', flexWrap: 'wrap' }}>
            <div>
              <h4>History ({d.history.length} items, oldest first)</h4>
              <ol className="small" data-testid="joint-rec-history">
                {d.history.map((h, i) => (
                  <li key={i} data-testid="joint-rec-history-item">#{h.id} {h.title ?? h.asin} <span className="tok-chip">{code(h.codes)}</span></li>
                ))}
              </ol>
              <p className="small" data-testid="joint-rec-target">
                Held-out target: <strong>#{d.target.id} {d.target.title ?? d.target.asin}</strong> <span className="tok-chip chosen">{code(d.target.codes)}</span>
              </p>
              <p className="small" data-testid="joint-rec-hit">{d.hitRank > 0 ? `Hit at rank ${d.hitRank}` : `Not in the top ${d.generated.length}`}</p>
            </div>
            <div>
              <h4>Top {d.generated.length} generated</h4>
              <table className="compact" data-testid="joint-rec-generated">
                <thead><tr><th>rank</th><th>code</th><th>item</th></tr></thead>
                <tbody>
                  {d.generated.map((g) => (
                    <tr key={g.rank} data-testid="joint-rec-gen" data-target={g.isTarget ? 'true' : 'false'} data-invalid={g.item ? 'false' : 'true'} className={g.isTarget ? 'selected' : ''}>
                      <td>{g.rank}</td>
                      <td><span className={`tok-chip${g.isTarget ? ' chosen' : ''}`}>{code(g.codes)}</span></td>
                      <td>{g.item ? <>#{g.item.id} {g.item.title ?? g.item.asin}{g.isTarget && <strong> ← target</strong>}</> : <span className="badge badge-bad">invalid code (no item)</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        </div>
      )}
    </section>
  );
}
