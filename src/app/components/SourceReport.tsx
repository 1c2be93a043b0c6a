/** Where the dataset came from and what the parser and the k-core filter did to it. */
import type { DatasetSummary } from '../../../workers/api.ts';
import type { ParseReport } from '../../core/data/types.ts';
import { formatBytes, formatInt } from '../format.ts';

function ParseReportView({ title, report }: { title: string; report: ParseReport }) {
  return (
    <div className="parse-report">
      <h4>
        {title}: <span className="mono">{report.file}</span> <span className="muted">({report.format})</span>
      </h4>
      <dl className="kv">
        <dt>Lines read</dt>
        <dd>{formatInt(report.linesRead)} ({formatBytes(report.bytesRead)})</dd>
        <dt>Rows kept</dt>
        <dd>{formatInt(report.rowsKept)}</dd>
        <dt>Blank lines</dt>
        <dd>{formatInt(report.blankLines)}</dd>
        <dt>Malformed lines</dt>
        <dd data-testid="report-malformed" className={report.malformedLines ? 'warn' : undefined}>
          {formatInt(report.malformedLines)}
        </dd>
        <dt>Rows missing user/item/time</dt>
        <dd>{formatInt(report.missingFieldRows)}</dd>
      </dl>
      {report.problems.length > 0 && (
        <>
          <p className="small muted">First problems:</p>
          <ul className="problem-list small">
            {report.problems.map((p, i) => (
              <li key={i}>
                <span className="mono">line {p.line}:</span> {p.reason}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

export function SourceReport({ dataset }: { dataset: DatasetSummary }) {
  const { source, config, stats } = dataset;
  const removed = source.rowsBeforeFilter - stats.num_interactions;
  return (
    <section className="card" data-testid="source-report">
      <h3>Source and preparation</h3>
      <dl className="kv">
        <dt>Format</dt>
        <dd className="mono" data-testid="report-format">{source.format}</dd>
        <dt>Files</dt>
        <dd className="mono">{source.files.join(', ') || '—'}</dd>
        {source.metadataFormat && (
          <>
            <dt>Metadata format</dt>
            <dd className="mono">{source.metadataFormat}</dd>
          </>
        )}
        <dt>Rows before k-core</dt>
        <dd>{formatInt(source.rowsBeforeFilter)}</dd>
        <dt>Rows after k-core</dt>
        <dd>
          {formatInt(stats.num_interactions)}
          {removed > 0 && <span className="muted"> ({formatInt(removed)} removed)</span>}
        </dd>
        <dt>k-core</dt>
        <dd>
          k = {config.kcore}
          {config.kcore <= 1 ? ' (no filtering)' : `, ${source.kcorePasses} pass${source.kcorePasses === 1 ? '' : 'es'}`}
        </dd>
        <dt>Max history length</dt>
        <dd>{config.maxLen}</dd>
        <dt>Split</dt>
        <dd>leave-one-out: last item test, second-to-last valid, earlier prefixes train</dd>
      </dl>
      {source.parseReport && <ParseReportView title="Interactions" report={source.parseReport} />}
      {source.metadataReport && <ParseReportView title="Metadata" report={source.metadataReport} />}
    </section>
  );
}
