import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import uPlot from 'uplot';

import { colorOf } from '../charts';
import { NbmlopsModel } from '../model';
import { FeatureDriftRow, ModelDetail, ModelMonitoring as Monitoring, MonitoringReport } from '../types';
import { canvasSupported, cssVar, themeColors, useThemeVersion, useWidth } from './canvas';
import { ErrorLine, formatNumber, useTick } from './common';

/** Dataset drift is declared when at least this share of the columns drifted (Evidently's default). */
export const DATASET_DRIFT_SHARE = 0.5;

/** Height of both charts in CSS pixels. */
const CHART_HEIGHT = 170;

/** Metric lines take palette colors from here on, apart from the versions' first colors. */
const METRIC_COLORS = 3;

/** Tests whose score is a p-value: a column drifts when the score falls below the threshold. */
const P_VALUE_TESTS = new Set(['ks', 'chisquare']);

export interface ModelMonitoringProps {
  model: NbmlopsModel;
  trans: TranslationBundle;
  /** The selected model; its aliases pick the command the empty state suggests. */
  detail: ModelDetail;
}

/** A share 0..1 as "60%" (NaN and missing as "–"); kept out of trans.__, which reads '%' itself. */
export function formatShare(value: number | null, digits = 0): string {
  return value === null || !Number.isFinite(value) ? '–' : `${(value * 100).toFixed(digits)}%`;
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

/** The model's monitoring history, re-fetched on every refresh round; unchanged answers keep their objects. */
function useMonitoring(model: NbmlopsModel, name: string): { data: Monitoring | null; error: unknown } {
  const [data, setData] = React.useState<Monitoring | null>(null);
  const [error, setError] = React.useState<unknown>(null);
  const last = React.useRef('');
  const alive = React.useRef(true);
  const busy = React.useRef(false);

  const load = React.useCallback(async () => {
    if (busy.current) {
      return; // a tick while the previous answer is on its way
    }
    busy.current = true;
    try {
      const found = await model.monitoring(name);
      const text = JSON.stringify(found);
      if (alive.current && text !== last.current) {
        last.current = text;
        setData(found);
      }
      if (alive.current) {
        setError(null);
      }
    } catch (reason) {
      if (alive.current) {
        setError(reason);
      }
    } finally {
      busy.current = false;
    }
  }, [model, name]);

  React.useEffect(() => {
    alive.current = true;
    void load();
    return () => {
      alive.current = false;
    };
  }, [load]);
  useTick(model, () => void load());
  return { data, error };
}

/**
 * The Models view's monitoring section: drift share over time (one point per report, the 50%
 * dataset-drift line, versions in colors), performance over time when reports had labels, and the
 * latest report's per-feature drift.
 */
export function ModelMonitoring(props: ModelMonitoringProps): React.ReactElement {
  const { model, trans, detail } = props;
  const name = detail.name;
  const { data, error } = useMonitoring(model, name);
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
function ReportLine(props: { trans: TranslationBundle; report: MonitoringReport; latest: boolean }): React.ReactElement {
  const { trans, report, latest } = props;
  const metrics = Object.entries(report.metrics).sort(([a], [b]) => a.localeCompare(b));
  return (
    <p className="jp-nbmlops-monitoring-report">
      <span className="jp-nbmlops-muted">{latest ? trans.__('Latest report') : trans.__('Report')}</span>{' '}
      <time dateTime={report.timestamp}>{new Date(report.timestamp).toLocaleString()}</time>
      {' · '}
      <strong>v{report.version}</strong>
      {' · '}
      {trans.__('%1 of %2 columns drifted (%3)', report.drifted_columns, report.n_columns, formatShare(report.drift_share))}{' '}
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

/** `value` to `digits` significant digits, for reading rather than computing. */
function short(value: number, digits = 4): string {
  return formatNumber(Number.isFinite(value) ? Number(value.toPrecision(digits)) : value);
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
        {trans.__('Per-feature drift of the latest report (v%1, %2)', first.version, new Date(first.timestamp).toLocaleString())}
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
                  <span className="jp-nbmlops-chart-value">
                    {scored ? short(f.score as number) : '–'}
                  </span>{' '}
                  <span className="jp-nbmlops-muted">
                    {scored ? ((f.score as number) < f.threshold ? '<' : '≥') : trans.__('vs')} {formatNumber(f.threshold)}
                  </span>
                </td>
                <td>
                  <DriftBadge drifted={f.drifted}>{f.drifted ? trans.__('drift') : trans.__('no drift')}</DriftBadge>
                </td>
                <td className="jp-nbmlops-num">{f.psi === null ? '–' : short(f.psi, 3)}</td>
                <td className={(f.current_nulls ?? 0) > (f.reference_nulls ?? 0) ? 'jp-nbmlops-monitoring-nulls-up' : undefined}>
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

/** The reports' timestamps in seconds, for uPlot's time axis. */
function times(reports: readonly MonitoringReport[]): number[] {
  return reports.map(report => Date.parse(report.timestamp) / 1000);
}

/** Distinct versions in the order they first appear. */
function versionsOf(reports: readonly MonitoringReport[]): number[] {
  return Array.from(new Set(reports.map(report => report.version)));
}

interface ChartProps {
  trans: TranslationBundle;
  name: string;
  reports: MonitoringReport[];
  onHover(index: number | null): void;
}

/** Drift share per report, one colored line per version, ringed where the dataset drifted, the 50% line dashed. */
function DriftChart(props: ChartProps): React.ReactElement {
  const { trans, name, reports } = props;
  const versions = versionsOf(reports);
  const build = React.useCallback(
    (element: HTMLElement): Pick<uPlot.Options, 'series' | 'scales' | 'axes' | 'hooks'> & { data: uPlot.AlignedData } => {
      const colors = themeColors(element);
      const error = cssVar(element, '--jp-error-color1', '#d32f2f');
      const x = times(reports);
      const perVersion = versions.map(v => reports.map(r => (r.version === v ? finiteOr(r.drift_share) : undefined)));
      const drifted = reports.map(r => (r.dataset_drift ? finiteOr(r.drift_share) : undefined));
      return {
        data: [x, ...perVersion, drifted] as unknown as uPlot.AlignedData,
        scales: { x: { time: true, range: paddedRange }, y: { range: [0, 1] } },
        axes: [{}, { values: (_u, splits) => splits.map(v => formatShare(v)) }],
        series: [
          {},
          ...versions.map((v, i) => markedLine(`v${v}`, colorOf(i))),
          {
            label: trans.__('dataset drift'),
            stroke: error,
            width: 0,
            paths: () => null,
            points: { show: true, size: 12, width: 2, stroke: error, fill: 'transparent' }
          }
        ],
        // under the series: the threshold and version changes are guides, not data (no cursor points)
        hooks: { drawAxes: [u => drawGuides(u, reports, colors.muted)] }
      };
    },
    [reports, versions.join(','), trans] // eslint-disable-line react-hooks/exhaustive-deps
  );
  return (
    <ChartFrame
      title={trans.__('Drift share')}
      legend={[
        ...versions.map((v, i) => <LegendItem key={v} mark={{ background: colorOf(i) }} label={`v${v}`} />),
        <LegendItem key="drift" mark="jp-nbmlops-monitoring-ring" label={trans.__('dataset drift')} />,
        <LegendItem
          key="threshold"
          mark="jp-nbmlops-monitoring-dash"
          label={trans.__('threshold %1', formatShare(DATASET_DRIFT_SHARE))}
        />
      ]}
    >
      <Plot
        build={build}
        height={CHART_HEIGHT}
        label={trans.__('Drift share of %1 over %2 reports', name, reports.length)}
        onHover={props.onHover}
        sync={name}
      />
    </ChartFrame>
  );
}

/** Performance metrics of the reports made with labels, one line per metric; nothing when none had labels. */
function PerformanceChart(props: ChartProps): React.ReactElement | null {
  const { trans, name, reports } = props;
  const keys = React.useMemo(
    () => Array.from(new Set(reports.flatMap(r => Object.keys(r.metrics)))).sort((a, b) => a.localeCompare(b)),
    [reports]
  );
  const build = React.useCallback(
    (): Pick<uPlot.Options, 'series' | 'scales' | 'axes' | 'hooks'> & { data: uPlot.AlignedData } => ({
      data: [
        times(reports),
        ...keys.map(key => reports.map(r => (key in r.metrics ? finiteOr(r.metrics[key]) : undefined)))
      ] as unknown as uPlot.AlignedData,
      scales: { x: { time: true, range: paddedRange } },
      axes: [{}, { values: (_u, splits) => splits.map(v => short(v)) }],
      series: [
        {},
        ...keys.map((key, i) => markedLine(key, colorOf(i + METRIC_COLORS)))
      ],
      hooks: {}
    }),
    [reports, keys]
  );
  if (keys.length === 0) {
    return null;
  }
  return (
    <ChartFrame
      title={trans.__('Performance (reports with labels)')}
      legend={keys.map((key, i) => (
        <LegendItem key={key} mark={{ background: colorOf(i + METRIC_COLORS) }} label={key} />
      ))}
    >
      <Plot
        build={build}
        height={CHART_HEIGHT}
        label={trans.__('Performance metrics of %1 over time', name)}
        onHover={props.onHover}
        sync={name}
      />
    </ChartFrame>
  );
}

/** A chart with its title and a legend line of marks and labels. */
function ChartFrame(props: { title: string; legend: React.ReactNode[]; children: React.ReactNode }): React.ReactElement {
  return (
    <figure className="jp-nbmlops-chart jp-nbmlops-monitoring-chart">
      <figcaption className="jp-nbmlops-chart-header">
        <span className="jp-nbmlops-chart-title">{props.title}</span>
        <span className="jp-nbmlops-chart-legend">
          <ul>{props.legend}</ul>
        </span>
      </figcaption>
      {props.children}
    </figure>
  );
}

/** One legend entry: a color swatch (a style) or a drawn mark (a class name), then its label. */
function LegendItem(props: { mark: React.CSSProperties | string; label: string }): React.ReactElement {
  const { mark } = props;
  return (
    <li>
      {typeof mark === 'string' ? (
        <span className={mark} aria-hidden="true" />
      ) : (
        <span className="jp-nbmlops-swatch" style={mark} aria-hidden="true" />
      )}
      {props.label}
    </li>
  );
}

/** A line with a marker at every report (reports are few and each one matters). */
function markedLine(label: string, color: string): uPlot.Series {
  return { label, stroke: color, width: 1.5, points: { show: true, size: 6, fill: color } };
}

/** `value` when finite, else null (a gap: uPlot cannot place NaN). */
function finiteOr(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** The time axis over the reports with a little room on both sides, so end markers are not cut. */
function paddedRange(_u: uPlot, min: number, max: number): uPlot.Range.MinMax {
  const pad = max > min ? (max - min) * 0.04 : 43200; // one report: half a day either side
  return [min - pad, max + pad];
}

/** The dashed dataset-drift line, and a dotted line labelled "vN" where the reports switch version. */
function drawGuides(u: uPlot, reports: readonly MonitoringReport[], color: string): void {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  const ratio = uPlot.pxRatio;
  ctx.save();
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.lineWidth = ratio;
  const y = Math.round(u.valToPos(DATASET_DRIFT_SHARE, 'y', true));
  ctx.setLineDash([6 * ratio, 4 * ratio]);
  ctx.beginPath();
  ctx.moveTo(left, y);
  ctx.lineTo(left + width, y);
  ctx.stroke();
  ctx.setLineDash([2 * ratio, 3 * ratio]);
  ctx.font = `${10 * ratio}px ${cssVar(u.root, '--jp-ui-font-family', 'sans-serif')}`;
  ctx.textBaseline = 'top';
  for (let i = 1; i < reports.length; i++) {
    if (reports[i].version === reports[i - 1].version) {
      continue;
    }
    const x = Math.round(u.valToPos(Date.parse(reports[i].timestamp) / 1000, 'x', true));
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.fillText(`v${reports[i].version}`, x + 3 * ratio, top + 2 * ratio);
  }
  ctx.restore();
}

interface PlotProps {
  build(element: HTMLElement): Pick<uPlot.Options, 'series' | 'scales' | 'axes' | 'hooks'> & { data: uPlot.AlignedData };
  height: number;
  label: string;
  sync: string;
  onHover(index: number | null): void;
}

/** A small uPlot with the theme's axis colors; cursors of plots with the same `sync` move together. */
function Plot(props: PlotProps): React.ReactElement {
  const { build, height, sync } = props;
  const box = React.useRef<HTMLDivElement>(null);
  const plot = React.useRef<uPlot | null>(null);
  const width = useWidth(box);
  const theme = useThemeVersion();
  const hoverRef = React.useRef(props.onHover);
  hoverRef.current = props.onHover;

  React.useEffect(() => {
    const element = box.current;
    if (!element || width <= 0 || !canvasSupported()) {
      return; // jsdom: no canvas, the table and the report line carry the content
    }
    const { data, axes, series, scales, hooks } = build(element);
    const colors = themeColors(element);
    const axis: uPlot.Axis = {
      stroke: colors.muted,
      grid: { stroke: colors.grid, width: 1 },
      ticks: { stroke: colors.grid, width: 1 },
      font: `11px ${cssVar(element, '--jp-ui-font-family', 'sans-serif')}`
    };
    const instance = new uPlot(
      {
        width,
        height,
        legend: { show: false },
        cursor: { sync: { key: `nbmlops-monitoring:${sync}` }, drag: { x: false, y: false }, points: { size: 7 } },
        scales,
        axes: (axes ?? []).map((a, i) => ({ ...axis, ...(i === 1 ? { size: 50 } : {}), ...a })),
        series,
        hooks: { ...hooks, setCursor: [u => hoverRef.current(u.cursor.idx ?? null)] }
      },
      data,
      element
    );
    plot.current = instance;
    return () => {
      instance.destroy();
      plot.current = null;
    };
    // width changes are applied by setSize below without rebuilding
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [build, height, sync, theme, width > 0]);

  React.useEffect(() => {
    if (width > 0) {
      plot.current?.setSize({ width, height });
    }
  }, [width, height]);

  return (
    <div
      className="jp-nbmlops-chart-plot"
      ref={box}
      role="img"
      aria-label={props.label}
      style={{ minHeight: height }}
      onMouseLeave={() => props.onHover(null)}
    />
  );
}
