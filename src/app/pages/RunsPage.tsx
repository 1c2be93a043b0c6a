/**
 * Every recorded run of every stage in one table (issue 6): SASRec embedding tables, RQ-VAE
 * tokenizers, joint runs and GRPO runs. Filter by stage/dataset/text, sort by any column, compare
 * the curves of 2+ runs, the config diff against the run's preset (with provenance), delete, and
 * export all metrics as one CSV and one JSON file.
 */
import { Fragment, useCallback, useEffect, useMemo, useState } from 'react';
import type { RunRow, RunStage } from '../../../workers/runsApi.ts';
import type { StudioErrorInfo } from '../../core/errors.ts';
import {
  buildMetricsCsv, buildMetricsJson, curveMetrics, filterRuns, RUN_STAGE_LABELS, sortRuns, type RunSortKey,
} from '../../core/runs/runTable.ts';
import { Chart } from '../components/Chart.tsx';
import { ErrorBox } from '../components/ErrorBox.tsx';
import '../diagnostics.css';
import '../runs.css';
import { downloadBytes } from '../download.ts';
import { formatPercent, plural } from '../format.ts';
import { LocalTime } from '../components/LocalTime.tsx';
import { useDatasetsStore } from '../stores/datasets.ts';
import { getStudioClient } from '../workerClient.ts';

/**
 * The columns after the first (the run: compare box, name, stage and dataset, sortable by each),
 * chosen so the table fits a 1280 px window: the first column stays in view when it scrolls.
 */
const NAME_SORTS: { key: RunSortKey; label: string }[] = [{ key: 'name', label: 'run' }, { key: 'stage', label: 'stage' }, { key: 'dataset', label: 'dataset' }];
const COLUMNS: { key: RunSortKey; label: string; className?: string }[] = [
  { key: 'created', label: 'created' }, { key: 'status', label: 'status' }, { key: 'backend', label: 'backend' },
  { key: 'seed', label: 'seed' }, { key: 'duration', label: 'duration' }, { key: 'metric', label: 'headline metric' },
];

function fmtDuration(s: number | null): string {
  if (s === null) return '—';
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${(s / 3600).toFixed(1)} h`;
}

function fmtValue(v: unknown): string {
  if (v === undefined) return '—';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : String(+v.toPrecision(4));
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function fmtHeadline(h: RunRow['headline']): string {
  if (!h) return '—';
  if (/collision/.test(h.name)) return `${h.name} ${formatPercent(h.value, 2)}`;
  // counts (interactions of a dataset, the width of a text table) are integers
  return Number.isInteger(h.value) && !/ndcg|recall/.test(h.name) ? `${h.name} ${h.value}` : `${h.name} ${h.value.toFixed(4)}`;
}

/** The invalid-code rate beside a generative headline (a model with 90 % invalid codes must not look merely weak). */
function fmtInvalid(r: RunRow): string {
  const prefix = r.headline?.name.startsWith('test') ? 'test_' : null;
  const v = prefix ? r.metrics[`${prefix}invalid_rate`] : undefined;
  return v === undefined ? '' : `invalid codes ${formatPercent(v)}`;
}

/** The run column, the sortable columns and the actions. */
const COLUMN_COUNT = COLUMNS.length + 2;

const stamp = () => new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);

export function RunsPage() {
  const [rows, setRows] = useState<RunRow[] | null>(null);
  const [error, setError] = useState<StudioErrorInfo | null>(null);
  const [stage, setStage] = useState<RunStage | ''>('');
  const [datasetId, setDatasetId] = useState('');
  const [text, setText] = useState('');
  const [sort, setSort] = useState<{ key: RunSortKey; dir: 'asc' | 'desc' }>({ key: 'created', dir: 'desc' });
  const [selected, setSelected] = useState<string[]>([]);
  const [metric, setMetric] = useState('');
  const [diffOf, setDiffOf] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      const r = await getStudioClient().listAllRuns();
      if (r.ok) { setRows(r.value); setError(null); } else setError(r.error);
    } catch (err) {
      setError({ code: 'internal', message: err instanceof Error ? err.message : String(err) });
    }
  }, []);
  useEffect(() => { void refresh(); }, [refresh]);

  const keyOf = (r: RunRow) => `${r.stage}:${r.id}`;
  const datasets = useMemo(() => [...new Map((rows ?? []).map((r) => [r.datasetId, r.datasetName])).entries()], [rows]);
  const shown = useMemo(() => sortRuns(filterRuns(rows ?? [], { stage, datasetId, text }), sort.key, sort.dir), [rows, stage, datasetId, text, sort]);
  const chosen = useMemo(() => (rows ?? []).filter((r) => selected.includes(keyOf(r))), [rows, selected]);
  const metrics = useMemo(() => curveMetrics(chosen), [chosen]);
  const activeMetric = metrics.includes(metric) ? metric : metrics[0] ?? '';
  const chart = useMemo(() => {
    const by = new Map<number, Record<string, number>>();
    chosen.forEach((r, i) => {
      for (const p of r.curves) {
        const v = p[activeMetric];
        if (v === undefined) continue;
        const pt = by.get(p.epoch) ?? { epoch: p.epoch };
        pt[`s${i}`] = v;
        by.set(p.epoch, pt);
      }
    });
    return [...by.values()].sort((a, b) => a.epoch - b.epoch);
  }, [chosen, activeMetric]);
  const diffRun = (rows ?? []).find((r) => keyOf(r) === diffOf) ?? null;

  const toggleSort = (key: RunSortKey) => setSort((s) => ({ key, dir: s.key === key && s.dir === 'asc' ? 'desc' : 'asc' }));
  const sortButton = (c: { key: RunSortKey; label: string }) => (
    <button type="button" data-testid={`runs-sort-${c.key}`} aria-pressed={sort.key === c.key} onClick={() => toggleSort(c.key)}>
      {c.label}{sort.key === c.key ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}
    </button>
  );
  const ariaSort = (key: RunSortKey) => (sort.key === key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : undefined);
  const toggleSel = (k: string) => setSelected((s) => (s.includes(k) ? s.filter((x) => x !== k) : [...s, k]));
  const enc = (s: string) => new TextEncoder().encode(s);

  async function remove(r: RunRow) {
    const question = r.stage === 'data'
      ? `Delete the dataset "${r.name}" with all its embedding tables, tokenizers and runs?`
      : `Delete the ${RUN_STAGE_LABELS[r.stage]} run "${r.name}" and its stored data?`;
    if (!confirm(question)) return;
    const res = await getStudioClient().deleteRun(r.stage, r.id);
    if (!res.ok) setError(res.error);
    else if (r.stage === 'data') await useDatasetsStore.getState().refresh();
    setSelected((s) => s.filter((x) => x !== keyOf(r)));
    await refresh();
  }

  return (
    <div className="page" data-testid="runs-page">
      <div className="page-head">
        <div>
          <h2>Runs</h2>
          <p className="muted">Every recorded run of every stage: prepared datasets, text and SASRec embedding tables, RQ-VAE tokenizers, joint and GRPO runs. Tick two or more to compare their curves.</p>
        </div>
        <div className="row">
          <button type="button" data-testid="runs-refresh" onClick={() => void refresh()}>Refresh</button>
          <button type="button" data-testid="runs-export-csv" disabled={!rows?.length}
            onClick={() => rows && downloadBytes(`etegrec-runs-${stamp()}.csv`, enc(buildMetricsCsv(rows)), 'text/csv')}>Export CSV</button>
          <button type="button" data-testid="runs-export-json" disabled={!rows?.length}
            onClick={() => rows && downloadBytes(`etegrec-runs-${stamp()}.json`, enc(buildMetricsJson(rows)), 'application/json')}>Export JSON</button>
        </div>
      </div>
      {error && <ErrorBox error={error} title="Runs" />}
      <div className="runs-filters">
        <label>Stage{' '}
          <select data-testid="runs-filter-stage" value={stage} onChange={(e) => setStage(e.target.value as RunStage | '')}>
            <option value="">all</option>
            {(Object.keys(RUN_STAGE_LABELS) as RunStage[]).map((s) => <option key={s} value={s}>{RUN_STAGE_LABELS[s]}</option>)}
          </select>
        </label>
        <label>Dataset{' '}
          <select data-testid="runs-filter-dataset" value={datasetId} onChange={(e) => setDatasetId(e.target.value)}>
            <option value="">all</option>
            {datasets.map(([id, name]) => <option key={id} value={id}>{name}</option>)}
          </select>
        </label>
        <label>Search{' '}
          <input data-testid="runs-filter-text" value={text} placeholder="name, status, backend…" onChange={(e) => setText(e.target.value)} />
        </label>
        <span className="small muted" data-testid="runs-count">{rows === null ? 'Loading…' : `${shown.length} of ${plural(rows.length, 'run')}`}</span>
      </div>
      <div className="runs-table-wrap" data-testid="runs-table-wrap">
        <table className="runs-table runs-list" data-testid="runs-table">
          <thead>
            <tr>
              <th className="runs-sticky" aria-sort={NAME_SORTS.some((c) => c.key === sort.key) ? ariaSort(sort.key) : undefined}>
                <span className="runs-sorts">{NAME_SORTS.map((c, i) => <Fragment key={c.key}>{i > 0 && <span className="muted"> · </span>}{sortButton(c)}</Fragment>)}</span>
              </th>
              {COLUMNS.map((c) => <th key={c.key} aria-sort={ariaSort(c.key)}>{sortButton(c)}</th>)}
              <th><span className="sr-only">actions</span></th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <Fragment key={keyOf(r)}>
              <tr data-testid="runs-row" data-stage={r.stage} data-id={r.id} data-collapsed={r.warnings?.length ? 'true' : 'false'}>
                <td className="runs-sticky">
                  <div className="runs-run">
                    <input type="checkbox" data-testid="runs-select" aria-label={`compare ${r.name}`} checked={selected.includes(keyOf(r))} onChange={() => toggleSel(keyOf(r))} />
                    <div>
                      <div className="runs-name" data-testid="runs-name">{r.name}</div>
                      <div className="small muted"><span data-testid="runs-stage">{RUN_STAGE_LABELS[r.stage]}</span> · <span className="runs-dataset">{r.datasetName}</span></div>
                    </div>
                  </div>
                </td>
                <td><LocalTime ms={r.createdAt} /></td>
                <td data-testid="runs-status">{r.status}</td>
                <td data-testid="runs-backend" title={`adapter: ${r.adapter ?? '—'}`}>{r.backend}{r.adapter && <><br /><span className="small muted">{r.adapter}</span></>}</td>
                <td>{r.seed ?? '—'}</td>
                <td className="nowrap">{fmtDuration(r.durationSeconds)}</td>
                <td data-testid="runs-metric" className="runs-metric">{fmtHeadline(r.headline)}{fmtInvalid(r) && <><br /><span className="small muted" data-testid="runs-invalid">{fmtInvalid(r)}</span></>}</td>
                <td>
                  <div className="runs-actions">
                    <button type="button" data-testid="runs-diff" title="This run's config against its preset" onClick={() => setDiffOf(diffOf === keyOf(r) ? null : keyOf(r))}>
                      Diff vs preset ({r.configDiff.length})
                    </button>
                    <button type="button" className="danger" data-testid="runs-delete" onClick={() => void remove(r)}>Delete</button>
                  </div>
                </td>
              </tr>
              {r.warnings && r.warnings.length > 0 && (
                <tr className="runs-warning-row" data-testid="runs-warning-row" data-id={r.id}>
                  <td colSpan={COLUMN_COUNT} data-testid="collapse-warning" role="alert">
                    <strong>⚠ Collapsed model ({r.name}): it does not personalise.</strong>
                    <ul>{r.warnings.map((w, i) => <li key={i}>{w}</li>)}</ul>
                  </td>
                </tr>
              )}
              </Fragment>
            ))}
          </tbody>
        </table>
        {rows !== null && rows.length === 0 && <p className="muted" data-testid="runs-empty">No runs yet: train something in a stage.</p>}
      </div>
      {diffRun && (
        <section className="card" data-testid="runs-diff-panel">
          <h3>{diffRun.name}: config vs the {diffRun.preset ?? '?'} preset{diffRun.presetInferred ? ' (the nearest; the preset name is not stored for this stage)' : ''}</h3>
          {diffRun.configDiff.length === 0 ? <p className="muted">Every value is the preset's.</p> : (
            <table className="runs-table">
              <thead><tr><th>value</th><th>this run</th><th>preset</th><th>provenance of the preset value</th></tr></thead>
              <tbody>
                {diffRun.configDiff.map((d) => (
                  <tr key={d.key} data-testid="runs-diff-row">
                    <td className="mono">{d.key}</td><td>{fmtValue(d.value)}</td><td>{fmtValue(d.presetValue)}</td>
                    <td className="small muted" style={{ whiteSpace: 'normal' }}>{d.provenance || '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}
      <section className="card" data-testid="runs-compare">
        <h3>Compare</h3>
        {chosen.length < 2 ? (
          <p className="muted" data-testid="runs-compare-hint">Tick two or more runs to overlay their curves.</p>
        ) : (
          <>
            <label>Metric{' '}
              <select data-testid="runs-compare-metric" value={activeMetric} onChange={(e) => setMetric(e.target.value)}>
                {metrics.map((m) => <option key={m} value={m}>{m}</option>)}
              </select>
            </label>
            <div data-testid="runs-compare-chart" data-series={chosen.length} data-points={chart.length}>
              {chart.length === 0 ? <p className="muted">These runs share no curve of this metric.</p> : (
                <Chart title={activeMetric} testId="runs-compare-plot" className="chart-card chart-bare" rows={chart} height={260}
                  x={{ key: 'epoch', label: 'epoch' }} yLabel={activeMetric} percent={/rate|coverage|share/.test(activeMetric) && !/learning|^lr/.test(activeMetric)}
                  series={chosen.map((r, i) => ({ key: `s${i}`, name: `${r.name} (${r.stage})` }))} />
              )}
            </div>
          </>
        )}
      </section>
    </div>
  );
}
