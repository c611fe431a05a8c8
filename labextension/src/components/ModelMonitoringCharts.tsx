import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import uPlot from 'uplot';

import { colorOf } from '../charts';
import { MonitoringReport } from '../types';
import { canvasSupported, cssVar, themeColors, useThemeVersion, useWidth } from './canvas';
import { formatNumber } from './common';

// The monitoring charts of the models view: drift share and performance over time (uPlot).

/** Dataset drift is declared when at least this share of the columns drifted (Evidently's default). */
export const DATASET_DRIFT_SHARE = 0.5;

/** Height of both charts in CSS pixels. */
const CHART_HEIGHT = 170;

/** Metric lines take palette colors from here on, apart from the versions' first colors. */
const METRIC_COLORS = 3;

/** A share 0..1 as "60%" (NaN and missing as "–"); kept out of trans.__, which reads '%' itself. */
export function formatShare(value: number | null, digits = 0): string {
  return value === null || !Number.isFinite(value) ? '–' : `${(value * 100).toFixed(digits)}%`;
}

/** `value` to `digits` significant digits, for reading rather than computing. */
export function short(value: number, digits = 4): string {
  return formatNumber(Number.isFinite(value) ? Number(value.toPrecision(digits)) : value);
}
/** The reports' timestamps in seconds, for uPlot's time axis. */
function times(reports: readonly MonitoringReport[]): number[] {
  return reports.map(report => Date.parse(report.timestamp) / 1000);
}

/** Distinct versions in the order they first appear. */
function versionsOf(reports: readonly MonitoringReport[]): number[] {
  return Array.from(new Set(reports.map(report => report.version)));
}

export interface ChartProps {
  trans: TranslationBundle;
  name: string;
  reports: MonitoringReport[];
  onHover: (index: number | null) => void;
}

/** Drift share per report, one colored line per version, ringed where the dataset drifted, the 50% line dashed. */
export function DriftChart(props: ChartProps): React.ReactElement {
  const { trans, name, reports } = props;
  const versions = versionsOf(reports);
  const build = React.useCallback(
    (
      element: HTMLElement
    ): Pick<uPlot.Options, 'series' | 'scales' | 'axes' | 'hooks'> & { data: uPlot.AlignedData } => {
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
    [reports, versions.join(','), trans] // eslint-disable-line react-hooks/exhaustive-deps -- versions by value
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
export function PerformanceChart(props: ChartProps): React.ReactElement | null {
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
      series: [{}, ...keys.map((key, i) => markedLine(key, colorOf(i + METRIC_COLORS)))],
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
function ChartFrame(props: {
  title: string;
  legend: React.ReactNode[];
  children: React.ReactNode;
}): React.ReactElement {
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
  build: (
    element: HTMLElement
  ) => Pick<uPlot.Options, 'series' | 'scales' | 'axes' | 'hooks'> & { data: uPlot.AlignedData };
  height: number;
  label: string;
  sync: string;
  onHover: (index: number | null) => void;
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
    // eslint-disable-next-line react-hooks/exhaustive-deps -- width changes go through setSize below, no rebuild
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
