/**
 * Stage 5, GRPO fine-tuning (spec §6) of a finished joint run: group sampling against the frozen
 * SFT policy with the fixed SFT code table, live reward / KL / policy-loss / validation curves,
 * the valid_before / valid_after / test table, and the stored runs with their export bundles.
 */
import { useEffect, useState } from 'react';
import { GrpoCharts } from '../components/grpo/GrpoCharts.tsx';
import { GrpoConfigPanel } from '../components/grpo/GrpoConfigPanel.tsx';
import { GrpoResultsTable, GrpoRunList } from '../components/grpo/GrpoRuns.tsx';
import { useDatasetsStore } from '../stores/datasets.ts';
import { grpoPointsFromRun, useGrpoStore } from '../stores/grpo.ts';
import { withStoredPoints } from '../stores/joint.ts';
import { datasetHref, grpoHref, navigate } from '../route.ts';
import { formatInt } from '../format.ts';
import '../tokenizer.css';

export function GrpoPage({ datasetId }: { datasetId: string | null }) {
  const datasets = useDatasetsStore((s) => s.datasets);
  const loaded = useDatasetsStore((s) => s.loaded);
  const jointRuns = useGrpoStore((s) => (datasetId ? s.jointRuns[datasetId] : undefined));
  const runs = useGrpoStore((s) => (datasetId ? s.runs[datasetId] : undefined));
  const listError = useGrpoStore((s) => s.listError);
  const train = useGrpoStore((s) => s.train);
  const refresh = useGrpoStore((s) => s.refresh);
  const dataset = datasets.find((d) => d.id === datasetId);
  const [selectedId, setSelectedId] = useState<string | null>(null);

  useEffect(() => {
    if (!datasetId && datasets.length > 0) navigate(grpoHref(datasets[0].id));
  }, [datasetId, datasets]);

  useEffect(() => {
    if (dataset) void refresh(dataset.id);
  }, [dataset, refresh]);

  const mine = train.datasetId === dataset?.id;
  // The chosen stored run, else the running one, else the run the last job produced, else the
  // newest with a kept model (finished, or cancelled with its best state).
  const shown = runs?.find((r) => r.id === selectedId)
    ?? (mine && train.running ? runs?.find((r) => r.active) : undefined)
    ?? (mine && train.result ? runs?.find((r) => r.id === train.result?.run.id) : undefined)
    ?? runs?.find((r) => r.status === 'finished' || r.bundleBytes > 0) ?? null;
  // Live points, completed from the stored run once it is listed (the live events lack the validation's invalid-code rate).
  const jobRun = mine && train.result ? runs?.find((r) => r.id === train.result?.run.id) : undefined;
  const points = mine && (train.running || (!selectedId && train.points.length))
    ? withStoredPoints(train.points, jobRun ? grpoPointsFromRun(jobRun) : [])
    : shown ? grpoPointsFromRun(shown) : [];

  return (
    <div className="page" data-testid="grpo-page">
      <div className="page-head">
        <div>
          <h2>Fine-tuning (GRPO)</h2>
          <p className="muted">
            Group relative policy optimisation of a finished joint run&apos;s recommender: for every history G codes are sampled
            (temperature, top-k) and rewarded (hit 1, invalid −0.1, plus α·cosine of the semantic vectors); advantages are
            normalised within each group, the update is a clipped ratio against the frozen SFT policy with a KL penalty. The code
            table and the tokenizer stay as trained.
          </p>
        </div>
        <label className="dataset-picker">
          Dataset{' '}
          <select data-testid="grpo-dataset" value={dataset?.id ?? ''} onChange={(e) => navigate(grpoHref(e.target.value))} disabled={datasets.length === 0}>
            {!dataset && <option value="">{datasets.length ? 'choose a dataset' : 'no datasets'}</option>}
            {datasets.map((d) => <option key={d.id} value={d.id}>{d.name} ({formatInt(d.stats.num_items)} items)</option>)}
          </select>
        </label>
      </div>
      {!dataset ? (
        <p className="muted" data-testid="grpo-no-dataset">
          {!loaded ? 'Loading…' : datasets.length === 0 ? 'No datasets yet. Load the sample or import one in the data stage first.' : 'Pick a dataset.'}{' '}
          <a href="#/data">Go to the data stage</a>
        </p>
      ) : (
        <>
          <p className="small muted">
            <a href={datasetHref(dataset.id)}>{dataset.name}</a>: {formatInt(dataset.stats.num_items)} items ·{' '}
            {jointRuns === undefined ? '…' : `${jointRuns.filter((r) => r.status === 'finished').length} finished joint run(s)`} ·{' '}
            {runs === undefined ? '…' : `${runs.length} GRPO run(s)`}
          </p>
          {listError && <p className="error-text small">{listError.message}</p>}
          {jointRuns && <GrpoConfigPanel datasetId={dataset.id} jointRuns={jointRuns} />}
          <GrpoCharts points={points} />
          {shown && <GrpoResultsTable run={shown} />}
          <GrpoRunList datasetId={dataset.id} runs={runs ?? []} loaded={runs !== undefined} selected={shown?.id ?? null} onSelect={setSelectedId} />
        </>
      )}
    </div>
  );
}
