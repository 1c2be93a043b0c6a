/**
 * Stage 4, joint ETEGRec training of one dataset: the recommender (T5) and the tokenizer trained in
 * alternating epochs with the SIA / PSA alignment losses, live curves, runs that survive a reload
 * (Resume), the recommendations of a user, the export bundle and its import.
 */
import { useEffect, useRef, useState } from 'react';
import { ConfigPanel } from '../components/joint/ConfigPanel.tsx';
import { JointCharts } from '../components/joint/JointCharts.tsx';
import { JointResults } from '../components/joint/JointResults.tsx';
import { RecommendationsView } from '../components/joint/RecommendationsView.tsx';
import { ImportBundlePanel, InterruptedRuns, RunList } from '../components/joint/RunList.tsx';
import { useDatasetsStore } from '../stores/datasets.ts';
import { interruptedRuns, pointsFromHistory, useJointStore, withStoredPoints } from '../stores/joint.ts';
import { datasetHref, jointHref, navigate } from '../route.ts';
import { formatInt, plural } from '../format.ts';
import '../tokenizer.css';

export function JointPage({ datasetId }: { datasetId: string | null }) {
  const datasets = useDatasetsStore((s) => s.datasets);
  const loaded = useDatasetsStore((s) => s.loaded);
  const inputs = useJointStore((s) => (datasetId ? s.inputs[datasetId] : undefined));
  const runs = useJointStore((s) => (datasetId ? s.runs[datasetId] : undefined));
  const listError = useJointStore((s) => s.listError);
  const train = useJointStore((s) => s.train);
  const refresh = useJointStore((s) => s.refresh);
  const formOf = useJointStore((s) => s.formOf);
  const dataset = datasets.find((d) => d.id === datasetId);
  const [recRunId, setRecRunId] = useState<string | null>(null);
  const [chartRunId, setChartRunId] = useState<string | null>(null);
  const [resultsRunId, setResultsRunId] = useState<string | null>(null);

  useEffect(() => {
    if (!datasetId && datasets.length > 0) navigate(jointHref(datasets[0].id));
  }, [datasetId, datasets]);

  useEffect(() => {
    if (dataset) void refresh(dataset.id);
  }, [dataset, refresh]);

  // After a reload the newest interrupted run is what the page is about: the form shows its
  // configuration (once per dataset; an edit is kept) and the charts its curves.
  const shownFor = useRef<string | null>(null);
  const interrupted = runs ? interruptedRuns(runs)[0] ?? null : null;
  useEffect(() => {
    if (!dataset || !runs || shownFor.current === dataset.id) return;
    shownFor.current = dataset.id;
    const { train: t, showRunConfig } = useJointStore.getState();
    if (interrupted && !t.running) showRunConfig(interrupted);
  }, [dataset, runs, interrupted]);

  const recRun = runs?.find((r) => r.id === recRunId) ?? null;
  const mine = train.datasetId === dataset?.id;
  // Live points while a job runs (or after it), with the validation diagnostics of its stored
  // epochs (the run list is polled); otherwise the curves of the chosen stored run.
  const livePoints = mine && train.points.length > 0;
  const chartRun = runs?.find((r) => r.id === chartRunId)
    ?? (livePoints ? null : runs?.find((r) => r.id === formOf?.runId) ?? interrupted)
    ?? null;
  const liveRun = (mine && runs?.find((r) => r.active || r.name === train.runName)) || null;
  const points = chartRun && !train.running
    ? pointsFromHistory(chartRun.history)
    : mine ? withStoredPoints(train.points, liveRun ? pointsFromHistory(liveRun.history) : []) : [];
  // Results of the chosen run, else the one training (or just trained), else the newest evaluated one.
  const resultsRun = runs?.find((r) => r.id === resultsRunId) ?? liveRun ?? runs?.find((r) => r.test) ?? runs?.[0] ?? null;

  return (
    <div className="page" data-testid="joint-page">
      <div className="page-head">
        <div>
          <h2>Joint training (ETEGRec)</h2>
          <p className="muted">
            The generative recommender (a small T5 reading and writing item codes) and the RQ-VAE tokenizer are trained
            together: tokenizer and recommender epochs alternate, tied by the sequence–item (SIA) and preference–semantic (PSA)
            alignment losses; then the recommender is fine-tuned on the final codes. Every finished epoch is stored.
          </p>
        </div>
        <label className="dataset-picker">
          Dataset{' '}
          <select data-testid="joint-dataset" value={dataset?.id ?? ''} onChange={(e) => navigate(jointHref(e.target.value))} disabled={datasets.length === 0}>
            {!dataset && <option value="">{datasets.length ? 'choose a dataset' : 'no datasets'}</option>}
            {datasets.map((d) => <option key={d.id} value={d.id}>{d.name} ({formatInt(d.stats.num_items)} items)</option>)}
          </select>
        </label>
      </div>
      {!dataset ? (
        <p className="muted" data-testid="joint-no-dataset">
          {!loaded ? 'Loading…' : datasets.length === 0 ? 'No datasets yet. Load the sample or import one in the data stage first.' : 'Pick a dataset.'}{' '}
          <a href="#/data">Go to the data stage</a>
        </p>
      ) : (
        <>
          <p className="small muted">
            <a href={datasetHref(dataset.id)}>{dataset.name}</a>: {formatInt(dataset.stats.num_items)} items ·{' '}
            {inputs === undefined ? '…' : `${plural(inputs.embeddings.length, 'embedding table')}, ${plural(inputs.tokenizers.length, 'tokenizer')}`} ·{' '}
            {runs === undefined ? '…' : plural(runs.length, 'run')}
          </p>
          {listError && <p className="error-text small">{listError.message}</p>}
          {runs && <InterruptedRuns datasetId={dataset.id} runs={runs} />}
          {inputs && <ConfigPanel datasetId={dataset.id} inputs={inputs} />}
          {runs && runs.length > 0 && !train.running && (
            <label className="small">Curves of{' '}
              <select data-testid="joint-chart-run" value={chartRun?.id ?? ''} onChange={(e) => setChartRunId(e.target.value || null)}>
                <option value="">{livePoints ? 'the last job' : '—'}</option>
                {runs.map((r) => <option key={r.id} value={r.id}>{r.name}</option>)}
              </select>
            </label>
          )}
          <JointCharts points={points} />
          {resultsRun && <JointResults run={resultsRun} />}
          <RunList datasetId={dataset.id} runs={runs ?? []} loaded={runs !== undefined} onRecommend={setRecRunId} selected={resultsRun?.id ?? null} onSelect={setResultsRunId} />
          {recRun && <RecommendationsView run={recRun} />}
          <ImportBundlePanel datasetId={dataset.id} />
        </>
      )}
    </div>
  );
}
