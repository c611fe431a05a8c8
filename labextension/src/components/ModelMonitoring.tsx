import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { NbmlopsModel } from '../model';
import { FeatureDriftRow, ModelDetail, MonitoringReport } from '../types';
import { ErrorLine, formatNumber, useLiveData } from './common';
import { DriftChart, formatShare, PerformanceChart, short } from './ModelMonitoringCharts';

export { DATASET_DRIFT_SHARE, formatShare } from './ModelMonitoringCharts';

/** Tests whose score is a p-value: a column drifts when the score falls below the threshold. */
const P_VALUE_TESTS = new Set(['ks', 'chisquare']);

export interface ModelMonitoringProps {
  model: NbmlopsModel;
  trans: TranslationBundle;
  /** The selected model; its aliases pick the command the empty state suggests. */
  detail: ModelDetail;
}

/** Features drifted first, then by column name (the server sends them so; this keeps it true). */
export function driftedFirst(features: readonly FeatureDriftRow[]): FeatureDriftRow[] {
  return [...features].sort((a, b) => Number(b.drifted) - Number(a.drifted) || a.column.localeCompare(b.column));
}

/** The model reference `nbmlops monitor` should be given: its production alias, else its latest version. */
function monitorTarget(detail: ModelDetail): string {
  if (detail.aliases['production'] !== undefined || detail.versions.length === 0) {
    return `${detail.name}@production`;
  }
  return `${detail.name}/${detail.versions[0].version}`;
}

/**
 * The Models view's monitoring section: drift share over time (one point per report, the 50%
 * dataset-drift line, versions in colors), performance over time when reports had labels, and the
 * latest report's per-feature drift.
 */
export function ModelMonitoring(props: ModelMonitoringProps): React.ReactElement {
  const { model, trans, detail } = props;
  const name = detail.name;
  const { data, error } = useLiveData(model, name, () => model.monitoring(name));
  const [hover, setHover] = React.useState<number | null>(null);

  let body: React.ReactNode;
  if (data === null) {
    body = error ? null : <p className="jp-nbmlops-muted">{trans.__('Loading…')}</p>;
  } else if (data.reports.length === 0) {
    const command = `nbmlops monitor ${monitorTarget(detail)} batch.csv`;
    // the translated sentence around a marker, so the command can be set as code wherever it falls
    const [before, after] = trans.__('No monitoring reports yet: run %1', '\u0000').split('\u0000');
    body = (
      <p className="jp-nbmlops-monitoring-empty" role="status">
        {before}
        <code>{command}</code>
        {after}
      </p>
    );
  } else {
    const reports = data.reports;
    const latest = reports[reports.length - 1];
    const shown = hover !== null && hover >= 0 && hover < reports.length ? reports[hover] : latest;
    body = (
      <>
        <div className="jp-nbmlops-monitoring-charts">
          <DriftChart trans={trans} name={name} reports={reports} onHover={setHover} />
          <PerformanceChart trans={trans} name={name} reports={reports} onHover={setHover} />
        </div>
        <ReportLine trans={trans} report={shown} latest={shown === latest} />
        <FeatureTable trans={trans} name={name} features={data.features} />
      </>
    );
  }

  return (
    <section aria-labelledby="jp-nbmlops-model-monitoring" className="jp-nbmlops-model-section">
      <h3 id="jp-nbmlops-model-monitoring">{trans.__('Monitoring')}</h3>
      <ErrorLine error={error} />
      {body}
    </section>
  );
}

/** One report in a line: when, which version, how much drifted, and its performance metrics. */
function ReportLine(props: {
  trans: TranslationBundle;
  report: MonitoringReport;
  latest: boolean;
}): React.ReactElement {
  const { trans, report, latest } = props;
  const metrics = Object.entries(report.metrics).sort(([a], [b]) => a.localeCompare(b));
  return (
    <p className="jp-nbmlops-monitoring-report">
      <span className="jp-nbmlops-muted">{latest ? trans.__('Latest report') : trans.__('Report')}</span>{' '}
      <time dateTime={report.timestamp}>{new Date(report.timestamp).toLocaleString()}</time>
      {' · '}
      <strong>v{report.version}</strong>
      {' · '}
      {trans.__(
        '%1 of %2 columns drifted (%3)',
        report.drifted_columns,
        report.n_columns,
        formatShare(report.drift_share)
      )}{' '}
      <DriftBadge drifted={report.dataset_drift}>
        {report.dataset_drift ? trans.__('dataset drift') : trans.__('no dataset drift')}
      </DriftBadge>
      {report.prediction_drift ? (
        <>
          {' '}
          <DriftBadge drifted={true}>{trans.__('prediction drift')}</DriftBadge>
        </>
      ) : null}
      <span className="jp-nbmlops-monitoring-metric">
        {' · '}
        {trans._n('%1 row', '%1 rows', report.n_rows)}
      </span>
      {metrics.map(([key, value]) => (
        <span key={key} className="jp-nbmlops-monitoring-metric">
          {' · '}
          {key} <span className="jp-nbmlops-chart-value">{short(value)}</span>
        </span>
      ))}
      {report.source ? <span className="jp-nbmlops-muted"> · {report.source}</span> : null}
    </p>
  );
}

/** A small badge, filled with the error color when something drifted. */
function DriftBadge(props: { drifted: boolean; children: string }): React.ReactElement {
  return (
    <span className={`jp-nbmlops-monitoring-badge${props.drifted ? ' jp-mod-drifted' : ''}`}>{props.children}</span>
  );
}

/** The latest report's columns, drifted first: test, score against its threshold, PSI and nulls. */
function FeatureTable(props: {
  trans: TranslationBundle;
  name: string;
  features: FeatureDriftRow[];
}): React.ReactElement {
  const { trans, name } = props;
  const features = React.useMemo(() => driftedFirst(props.features), [props.features]);
  if (features.length === 0) {
    return <p className="jp-nbmlops-muted">{trans.__('The latest report compared no columns.')}</p>;
  }
  const first = features[0];
  return (
    <div className="jp-nbmlops-model-scroll">
      <p className="jp-nbmlops-monitoring-caption">
        {trans.__(
          'Per-feature drift of the latest report (v%1, %2)',
          first.version,
          new Date(first.timestamp).toLocaleString()
        )}
      </p>
      <table
        className="jp-nbmlops-run-table jp-nbmlops-model-table jp-nbmlops-monitoring-features"
        aria-label={trans.__('Feature drift of %1', name)}
      >
        <thead>
          <tr>
            <th scope="col">{trans.__('Column')}</th>
            <th scope="col">{trans.__('Kind')}</th>
            <th scope="col">{trans.__('Test')}</th>
            <th scope="col">{trans.__('Score vs threshold')}</th>
            <th scope="col">{trans.__('Drift')}</th>
            <th scope="col" className="jp-nbmlops-num">
              {trans.__('PSI')}
            </th>
            <th scope="col">{trans.__('Nulls (reference → current)')}</th>
          </tr>
        </thead>
        <tbody>
          {features.map(f => {
            const pValue = P_VALUE_TESTS.has(f.stat_test);
            const scored = f.score !== null && Number.isFinite(f.score);
            return (
              <tr key={f.column} className={f.drifted ? 'jp-mod-drifted' : undefined}>
                <th scope="row">{f.column}</th>
                <td>{f.kind}</td>
                <td>
                  <code>{f.stat_test}</code>
                </td>
                <td
                  className="jp-nbmlops-monitoring-score"
                  title={
                    pValue
                      ? trans.__('p-value: drift when below %1', f.threshold)
                      : trans.__('distance: drift at %1 or more', f.threshold)
                  }
                >
                  <span className="jp-nbmlops-chart-value">{scored ? short(f.score as number) : '–'}</span>{' '}
                  <span className="jp-nbmlops-muted">
                    {scored ? ((f.score as number) < f.threshold ? '<' : '≥') : trans.__('vs')}{' '}
                    {formatNumber(f.threshold)}
                  </span>
                </td>
                <td>
                  <DriftBadge drifted={f.drifted}>{f.drifted ? trans.__('drift') : trans.__('no drift')}</DriftBadge>
                </td>
                <td className="jp-nbmlops-num">{f.psi === null ? '–' : short(f.psi, 3)}</td>
                <td
                  className={
                    (f.current_nulls ?? 0) > (f.reference_nulls ?? 0) ? 'jp-nbmlops-monitoring-nulls-up' : undefined
                  }
                >
                  {formatShare(f.reference_nulls, 1)} → {formatShare(f.current_nulls, 1)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
