/** One joint run's evaluations with their diagnostics (test, test before finetune, latest and best validation) and its collapse warning. */
import type { JointEpochRecord, JointRunSummary } from '../../../../workers/jointApi.ts';
import { CollapseWarning, ResultsTable, type ResultRow } from '../Diagnostics.tsx';

function epochLabel(h: JointEpochRecord): string {
  return `${h.stage === 'finetune' ? 'finetune' : 'alternating'} epoch ${h.epoch + 1}`;
}

export function JointResults({ run }: { run: JointRunSummary }) {
  const validated = run.history.filter((h) => h.valid);
  const latest = validated[validated.length - 1];
  const best = validated.reduce<JointEpochRecord | undefined>((b, h) => (!b || (h.valid!.metrics['ndcg@10'] ?? 0) > (b.valid!.metrics['ndcg@10'] ?? 0) ? h : b), undefined);
  const rows: ResultRow[] = [];
  if (run.test) rows.push({ key: 'test', label: 'test (final model)', result: run.test });
  if (run.testBeforeFinetune) rows.push({ key: 'test_before_finetune', label: 'test before finetune', result: run.testBeforeFinetune });
  if (latest) rows.push({ key: 'valid_latest', label: `valid, latest (${epochLabel(latest)})`, result: latest.valid! });
  if (best && best !== latest) rows.push({ key: 'valid_best', label: `valid, best N@10 (${epochLabel(best)})`, result: best.valid! });
  return (
    <section className="card" data-testid="joint-results">
      <h3>Results of {run.name}</h3>
      {run.test
        ? <CollapseWarning result={run.test} what="the final model on the test split" />
        : latest && <CollapseWarning result={latest.valid} what={`the model at the latest validation (${epochLabel(latest)})`} />}
      {rows.length === 0 ? (
        <p className="muted" data-testid="joint-results-none">No evaluation stored yet: the first validation comes after eval_step epochs.</p>
      ) : (
        <ResultsTable rows={rows} testId="joint-results-table" rowTestId={(k) => `joint-result-${k}`} />
      )}
    </section>
  );
}
