/** The studio shell: header with the backend panel, the pipeline nav, the page, the attribution. */
import { lazy, Suspense, useEffect } from 'react';
import { BackendPanel } from './components/BackendPanel.tsx';
import { BadLinkPage, PageErrorBoundary } from './components/PageErrorBoundary.tsx';
import { DatasetsPage } from './pages/DatasetsPage.tsx';
import { useBackendStore } from './stores/backend.ts';
import { useDatasetsStore } from './stores/datasets.ts';
import { embeddingsHref, experimentsHref, grpoHref, jointHref, tokenizerHref, useRoute, type Route } from './route.ts';
import { STAGES } from './stages.ts';
import { HiddenTabBanner, ShortcutsHelp, ThemeToggle, useStageShortcuts, WorkerRestartBanner } from './components/Shell.tsx';

// The dataset page carries the charts (recharts): load it when a dataset is first opened.
const DatasetPage = lazy(() => import('./pages/DatasetPage.tsx').then((m) => ({ default: m.DatasetPage })));
const EmbeddingsPage = lazy(() => import('./pages/EmbeddingsPage.tsx').then((m) => ({ default: m.EmbeddingsPage })));
const TokenizerPage = lazy(() => import('./pages/TokenizerPage.tsx').then((m) => ({ default: m.TokenizerPage })));
const JointPage = lazy(() => import('./pages/JointPage.tsx').then((m) => ({ default: m.JointPage })));
const RunsPage = lazy(() => import('./pages/RunsPage.tsx').then((m) => ({ default: m.RunsPage })));
const GrpoPage = lazy(() => import('./pages/GrpoPage.tsx').then((m) => ({ default: m.GrpoPage })));
const ExperimentsPage = lazy(() => import('./pages/ExperimentsPage.tsx').then((m) => ({ default: m.ExperimentsPage })));

/** Stage of a route, and where each built stage's nav link goes (keeping the open dataset). */
function stageOf(route: Route): string {
  if (route.page === 'tokenizer') return 'tokenizer';
  if (route.page === 'joint') return 'joint';
  if (route.page === 'grpo') return 'grpo';
  return route.page === 'embeddings' ? 'embeddings' : 'data';
}

function stageHref(id: string, route: Route): string {
  const datasetId = 'datasetId' in route ? route.datasetId : null;
  if (id === 'embeddings') return embeddingsHref(datasetId);
  if (id === 'tokenizer') return tokenizerHref(datasetId);
  if (id === 'joint') return jointHref(datasetId);
  if (id === 'grpo') return grpoHref(datasetId);
  return datasetId ? `#/data/${encodeURIComponent(datasetId)}` : '#/data';
}

export function App() {
  const route = useRoute();
  useStageShortcuts();

  useEffect(() => {
    void useBackendStore.getState().init();
    void useDatasetsStore.getState().refresh();
  }, []);

  return (
    <div className="app">
      <header className="app-header">
        <h1>
          <a href="#/data">ETEGRec Studio</a>
        </h1>
        <BackendPanel />
        <div className="shell-tools"><ShortcutsHelp /><ThemeToggle /></div>
      </header>
      <nav className="stages" aria-label="Pipeline stages">
        <ol>
          {STAGES.map((s) =>
            s.built ? (
              <li key={s.id}>
                <a
                  href={stageHref(s.id, route)}
                  className={`stage${stageOf(route) === s.id ? ' active' : ''}`}
                  aria-current={stageOf(route) === s.id ? 'page' : undefined}
                  data-testid={`stage-${s.id}`}
                >
                  {s.label}
                </a>
              </li>
            ) : (
              <li key={s.id}>
                <span className="stage disabled" aria-disabled="true" title="Not yet built" data-testid={`stage-${s.id}`}>
                  {s.label}
                  <span className="stage-note">not yet built</span>
                </span>
              </li>
            ),
          )}
          <li>
            <a href={experimentsHref('datasetId' in route ? route.datasetId : null)} className={`stage${route.page === 'experiments' ? ' active' : ''}`}
              aria-current={route.page === 'experiments' ? 'page' : undefined} data-testid="stage-experiments">
              Experiments
            </a>
          </li>
          <li>
            <a href="#/runs" className={`stage${route.page === 'runs' ? ' active' : ''}`} aria-current={route.page === 'runs' ? 'page' : undefined} data-testid="stage-runs">
              Runs
            </a>
          </li>
        </ol>
      </nav>
      <main className="app-main">
        <HiddenTabBanner />
        <WorkerRestartBanner />
        <PageErrorBoundary key={`${route.page}/${'datasetId' in route ? route.datasetId ?? '' : ''}`}>
        {route.page === 'bad-link' ? (
          <BadLinkPage message={route.message} />
        ) : route.page === 'runs' ? (
          <Suspense fallback={<p className="muted">Loading…</p>}>
            <RunsPage />
          </Suspense>
        ) : route.page === 'dataset' ? (
          <Suspense fallback={<p className="muted">Loading…</p>}>
            <DatasetPage datasetId={route.datasetId} />
          </Suspense>
        ) : route.page === 'experiments' ? (
          <Suspense fallback={<p className="muted">Loading…</p>}>
            <ExperimentsPage datasetId={route.datasetId} />
          </Suspense>
        ) : route.page === 'grpo' ? (
          <Suspense fallback={<p className="muted">Loading…</p>}>
            <GrpoPage datasetId={route.datasetId} />
          </Suspense>
        ) : route.page === 'joint' ? (
          <Suspense fallback={<p className="muted">Loading…</p>}>
            <JointPage datasetId={route.datasetId} />
          </Suspense>
        ) : route.page === 'tokenizer' ? (
          <Suspense fallback={<p className="muted">Loading…</p>}>
            <TokenizerPage datasetId={route.datasetId} />
          </Suspense>
        ) : route.page === 'embeddings' ? (
          <Suspense fallback={<p className="muted">Loading…</p>}>
            <EmbeddingsPage datasetId={route.datasetId} />
          </Suspense>
        ) : (
          <DatasetsPage />
        )}
        </PageErrorBoundary>
      </main>
      <footer className="app-footer">
        <p>
          Bundled sample: Amazon 2014 Musical Instruments reviews (5-core), collected by the McAuley lab, UC San Diego
          (McAuley et al., SIGIR 2015; He &amp; McAuley, WWW 2016). For research use only; of each review only the user
          id, item id, rating and time are kept.
        </p>
        <p className="muted">ETEGRec (SIGIR 2025) generative recommendation, trained in your browser. Data never leaves this device.</p>
      </footer>
    </div>
  );
}
