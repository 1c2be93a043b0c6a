/**
 * One user's history, the top generated codes (item or "invalid"), the held-out target and its hit
 * rank, beside the popularity top-10 of the training data (a model that ignores the history tends
 * to recommend it to everyone) and the run's test diagnostics.
 */
import { useEffect, useState } from 'react';
import type { JointRunSummary } from '../../../../workers/jointApi.ts';
import { diagnosticsLine } from '../../diagnostics.ts';
import { plural } from '../../format.ts';
import { useJointStore } from '../../stores/joint.ts';
import { CollapseWarning } from '../Diagnostics.tsx';
import { ErrorBox } from '../ErrorBox.tsx';
import '../../diagnostics.css';

const code = (c: number[]) => `⟨${c.join(', ')}⟩`;

export function RecommendationsView({ run }: { run: JointRunSummary }) {
  const recs = useJointStore((s) => s.recs);
  const show = useJointStore((s) => s.showRecommendations);
  const [split, setSplit] = useState<'valid' | 'test'>('test');
  // the picker counts from 1, as the sample line below does; the worker's index counts from 0
  const [index, setIndex] = useState('1');

  useEffect(() => { void show(run.id, { split: 'test', sampleIndex: 0 }); }, [run.id, show]);

  const d = recs.runId === run.id ? recs.data : null;
  const generatedIds = new Set(d?.generated.map((g) => g.item?.id).filter((x): x is number => x !== undefined));
  const popularShown = d ? d.generated.filter((g) => g.popular).length : 0;
  const go = (i: number) => { setIndex(String(i + 1)); void show(run.id, { split, sampleIndex: i }); };
  return (
    <section className="card" data-testid="joint-recs-view">
      <h3>Recommendations — {run.name}</h3>
      <div className="row tok-controls">
        <label>Split{' '}
          <select data-testid="joint-rec-split" value={split} onChange={(e) => setSplit(e.target.value as 'valid' | 'test')}>
            <option value="test">test</option><option value="valid">valid</option>
          </select>
        </label>
        <label>User (sample #{d ? ` of ${d.sampleCount}` : ''}){' '}
          <input data-testid="joint-rec-index" type="number" min={1} max={d?.sampleCount} value={index} size={6} onChange={(e) => setIndex(e.target.value)} />
        </label>
        <button type="button" data-testid="joint-rec-show" disabled={recs.loading} onClick={() => go(Math.max(0, Math.round(Number(index) || 1) - 1))}>Show</button>
        <button type="button" data-testid="joint-rec-next" disabled={recs.loading || !d} onClick={() => go((d?.sampleIndex ?? 0) + 1)}>Next user</button>
        {recs.loading && <span className="muted">generating…</span>}
      </div>
      {run.test?.diagnostics && (
        <p className="small" data-testid="joint-rec-diagnostics">Over all {run.test.diagnostics.users} test users: {diagnosticsLine(run.test.diagnostics)}.</p>
      )}
      <CollapseWarning result={run.test} what="this model" />
      {recs.runId === run.id && recs.error && <ErrorBox error={recs.error} title="Could not generate" />}
      {d && (
        <div data-testid="joint-rec-result" data-hit-rank={d.hitRank}>
          <p className="small">
            User <strong data-testid="joint-rec-user">{d.userId}</strong> ({d.split} sample {d.sampleIndex + 1} of {d.sampleCount}) · beam search with {d.beams} beams
            {d.constrained ? ', constrained to real items' : ', unconstrained (invalid codes occupy ranks, as the reference)'}.
          </p>
          <div className="rec-columns">
            <div>
              <h4>History ({plural(d.history.length, 'item')}, oldest first)</h4>
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
                    <tr key={g.rank} data-testid="joint-rec-gen" data-target={g.isTarget ? 'true' : 'false'} data-invalid={g.item ? 'false' : 'true'} data-popular={g.popular ? 'true' : 'false'} className={g.isTarget ? 'selected' : ''}>
                      <td>{g.rank}</td>
                      <td><span className={`tok-chip${g.isTarget ? ' chosen' : ''}`}>{code(g.codes)}</span></td>
                      <td>
                        {g.item ? <>#{g.item.id} {g.item.title ?? g.item.asin}{g.isTarget && <strong> ← target</strong>}</> : <span className="badge badge-bad">invalid code (no item)</span>}
                        {g.popular && <span className="tok-chip popular-chip" title="One of the 10 most frequent training items">popular</span>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p className="small muted" data-testid="joint-rec-popular-share">{popularShown} of {d.generated.length} generated items are in the popularity top-10.</p>
            </div>
            <div>
              <h4>Popularity top-10 (training data)</h4>
              <table className="compact diag-table" data-testid="joint-rec-popular">
                <thead><tr><th>#</th><th>item</th><th className="num">interactions</th></tr></thead>
                <tbody>
                  {d.popular.map((p, i) => (
                    <tr key={p.id} data-testid="joint-rec-popular-item" data-generated={generatedIds.has(p.id) ? 'true' : 'false'}>
                      <td>{i + 1}</td>
                      <td>#{p.id} {p.title ?? p.asin}{generatedIds.has(p.id) && <span className="tok-chip popular-chip" title="Also in this user's generated list">in list</span>}</td>
                      <td className="num">{p.count}</td>
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
