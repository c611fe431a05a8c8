import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import uPlot from 'uplot';

import { ApiError } from '../api';
import { buildOverlay, chartShape, colorOf, Overlay, valueNear, withAlpha } from '../charts';
import { NbmlopsModel } from '../model';
import { canvasSupported, cssVar, useThemeVersion, useWidth } from './canvas';
import { ErrorLine, formatNumber, useTick } from './common';
import { MetricBars } from './MetricBars';

/**
 * Points asked of the server per series: ~2-4 per pixel of a wide chart. The server downsamples
 * keeping extremes (LTTB + per-bucket min/max), so even a 1,000,000-point history arrives as this
 * many points and uPlot draws it in milliseconds.
 */
export const DEFAULT_MAX_POINTS = 4000;

/** Up to this many points a series is drawn with markers too. */
const FEW_POINTS = 60;

export interface MetricChartProps {
  model: NbmlopsModel;
  trans: TranslationBundle;
  metric: string;
  series: { runId: string; label: string }[];
  maxPoints?: number;
  height?: number;
  live?: boolean;
}

/** One run's history of the metric, in typed arrays (timestamps in seconds). */
interface History {
  runId: string;
  label: string;
  color: string;
  step: Float64Array;
  time: Float64Array;
  value: Float64Array;
  total: number;
  downsampled: boolean;
  /** The run is still RUNNING (known only when `live`). */
  running: boolean;
}

type XMode = 'step' | 'time';

/** Fetch one run's history; a run that never logged the metric gives an empty history. */
async function fetchHistory(
  model: NbmlopsModel,
  runId: string,
  label: string,
  color: string,
  metric: string,
  maxPoints: number,
  live: boolean
): Promise<History> {
  // live: the run's detail says whether it still runs and whether it has the metric yet (no 404 per tick)
  const run = live ? await model.run(runId) : null;
  const history =
    run && !(metric in run.metrics)
      ? null
      : await model.metricHistory(runId, metric, maxPoints).catch((error: unknown) => {
          if (error instanceof ApiError && error.status === 404) {
            return null; // the run never logged this metric
          }
          throw error;
        });
  const running = run?.status === 'RUNNING';
  const points = history?.points ?? { step: [], timestamp: [], value: [] };
  const time = new Float64Array(points.timestamp.length);
  points.timestamp.forEach((stamp, i) => {
    time[i] = Date.parse(stamp) / 1000;
  });
  return {
    runId,
    label,
    color,
    step: Float64Array.from(points.step),
    time,
    value: Float64Array.from(points.value),
    total: history?.total ?? 0,
    downsampled: history?.downsampled ?? false,
    running
  };
}

/**
 * A metric's history for one or more runs, overlaid on a uPlot canvas: step or wall-time x, log
 * scale, TensorBoard-style smoothing with the raw line faint behind, hover values in the legend,
 * live refresh of running runs.
 */
export function MetricChart(props: MetricChartProps): React.ReactElement {
  const { model, trans, metric, series, live = false } = props;
  const maxPoints = props.maxPoints ?? DEFAULT_MAX_POINTS;
  const height = props.height ?? 240;
  const id = React.useId();

  const [histories, setHistories] = React.useState<History[] | null>(null);
  const [error, setError] = React.useState<unknown>(null);
  const [xMode, setXMode] = React.useState<XMode>('step');
  const [log, setLog] = React.useState(false);
  const [smoothing, setSmoothing] = React.useState(0);
  const [hidden, setHidden] = React.useState<Set<string>>(new Set());
  const [hover, setHover] = React.useState<number | null>(null);
  const busy = React.useRef(false);
  const generation = React.useRef(0);
  const shown = React.useRef('');

  const seriesKey = JSON.stringify(series);
  const load = React.useCallback(
    async (only?: Set<string>): Promise<void> => {
      if (only && busy.current) {
        return; // a live tick while a fetch is under way: skip it, the next tick comes soon
      }
      const mine = ++generation.current;
      busy.current = true;
      try {
        const fetched = await Promise.all(
          series.map((s, index) =>
            only && !only.has(s.runId)
              ? Promise.resolve(null)
              : fetchHistory(model, s.runId, s.label, colorOf(index), metric, maxPoints, live)
          )
        );
        if (mine === generation.current) {
          setHistories(previous =>
            fetched.map((history, index) => history ?? previous?.[index] ?? null).filter((h): h is History => !!h)
          );
          setError(null);
        }
      } catch (reason) {
        if (mine === generation.current) {
          setError(reason);
        }
      } finally {
        if (mine === generation.current) {
          busy.current = false;
        }
      }
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps -- series by value (seriesKey)
    [model, metric, seriesKey, maxPoints, live]
  );

  React.useEffect(() => {
    // another metric or other runs: show "Loading…" rather than the old lines; same ones: keep them
    const key = JSON.stringify([metric, seriesKey, maxPoints]);
    if (shown.current !== key) {
      shown.current = key;
      setHistories(null);
    }
    void load();
  }, [load]); // eslint-disable-line react-hooks/exhaustive-deps -- load changes exactly when the key does

  useTick(model, () => {
    const running = (histories ?? []).filter(h => h.running).map(h => h.runId);
    if (live && running.length > 0) {
      void load(new Set(running));
    }
  });

  const overlay = React.useMemo<Overlay | null>(() => {
    if (!histories) {
      return null;
    }
    return buildOverlay(
      histories.map(h => ({ x: xMode === 'step' ? h.step : h.time, y: h.value })),
      { smoothing, log }
    );
  }, [histories, xMode, smoothing, log]);

  const points = histories?.reduce((sum, h) => sum + h.value.length, 0) ?? 0;
  // A metric logged once per run (a final score) reads best as bars; a history as lines.
  const bars = histories !== null && chartShape(histories.map(h => h.value.length)) === 'bars';
  const downsampled = histories?.filter(h => h.downsampled) ?? [];
  const largest = downsampled.reduce((max, h) => Math.max(max, h.total), 0);

  return (
    <figure className="jp-nbmlops-chart" aria-labelledby={`${id}-title`}>
      <figcaption className="jp-nbmlops-chart-header">
        <span className="jp-nbmlops-chart-title" id={`${id}-title`} title={metric}>
          {metric}
        </span>
        <span className="jp-nbmlops-chart-controls">
          {bars ? null : <LineControls {...{ trans, xMode, setXMode, log, setLog, smoothing, setSmoothing }} />}
          <button
            className="jp-mod-styled jp-nbmlops-chart-refresh"
            onClick={() => void load()}
            title={trans.__('Fetch the history of %1 again', metric)}
          >
            {trans.__('Refresh')}
          </button>
        </span>
      </figcaption>
      <ErrorLine error={error} />
      {histories === null && !error ? (
        <p className="jp-nbmlops-muted" style={{ height }}>
          {trans.__('Loading…')}
        </p>
      ) : histories !== null && points === 0 ? (
        <p className="jp-nbmlops-muted">{trans.__('No history of %1 in these runs.', metric)}</p>
      ) : histories !== null && bars ? (
        <MetricBars
          trans={trans}
          metric={metric}
          height={Math.max(60, height - 60)}
          bars={histories.map(h => ({
            runId: h.runId,
            label: h.label,
            color: h.color,
            value: h.value.length ? h.value[0] : undefined
          }))}
        />
      ) : overlay ? (
        <Plot
          overlay={overlay}
          histories={histories ?? []}
          hidden={hidden}
          xMode={xMode}
          height={height}
          label={trans.__('History of %1', metric)}
          onHover={setHover}
        />
      ) : null}
      {overlay && !bars && log && !overlay.logUsable ? (
        <p className="jp-nbmlops-chart-note">{trans.__('No value is above 0: the log scale is not available.')}</p>
      ) : null}
      {overlay && overlay.hidden > 0 ? (
        <p className="jp-nbmlops-chart-note">
          {trans._n(
            '%1 value <= 0 is hidden on the log scale.',
            '%1 values <= 0 are hidden on the log scale.',
            overlay.hidden
          )}
        </p>
      ) : null}
      {largest > 0 ? (
        <p className="jp-nbmlops-chart-note">
          {trans.__('downsampled from %1 points (extremes kept)', largest.toLocaleString())}
        </p>
      ) : null}
      {histories && overlay && !bars ? (
        <Legend
          trans={trans}
          histories={histories}
          overlay={overlay}
          hover={hover}
          xMode={xMode}
          hidden={hidden}
          onToggle={runId =>
            setHidden(previous => {
              const next = new Set(previous);
              if (next.has(runId)) {
                next.delete(runId);
              } else {
                next.add(runId);
              }
              return next;
            })
          }
        />
      ) : null}
    </figure>
  );
}

/** The line chart's own controls: x axis, log scale, smoothing. */
function LineControls(props: {
  trans: TranslationBundle;
  xMode: XMode;
  setXMode: (mode: XMode) => void;
  log: boolean;
  setLog: (log: boolean) => void;
  smoothing: number;
  setSmoothing: (smoothing: number) => void;
}): React.ReactElement {
  const { trans, xMode, setXMode, log, setLog, smoothing, setSmoothing } = props;
  return (
    <>
      <label>
        {trans.__('X axis')}{' '}
        <select value={xMode} onChange={event => setXMode(event.target.value as XMode)}>
          <option value="step">{trans.__('Step')}</option>
          <option value="time">{trans.__('Wall time')}</option>
        </select>
      </label>
      <label>
        <input type="checkbox" checked={log} onChange={event => setLog(event.target.checked)} /> {trans.__('Log scale')}
      </label>
      <label>
        {trans.__('Smoothing')}{' '}
        <input
          type="range"
          min={0}
          max={0.99}
          step={0.01}
          value={smoothing}
          aria-valuetext={smoothing.toFixed(2)}
          onChange={event => setSmoothing(Number(event.target.value))}
        />
        <output className="jp-nbmlops-chart-smoothing">{smoothing.toFixed(2)}</output>
      </label>
    </>
  );
}

interface PlotProps {
  overlay: Overlay;
  histories: History[];
  hidden: Set<string>;
  xMode: XMode;
  height: number;
  label: string;
  onHover: (index: number | null) => void;
}

/** The uPlot canvas; rebuilt when the series' layout changes, otherwise just given new data. */
function Plot(props: PlotProps): React.ReactElement {
  const { overlay, histories, hidden, xMode, height, onHover } = props;
  const box = React.useRef<HTMLDivElement>(null);
  const plot = React.useRef<uPlot | null>(null);
  const width = useWidth(box);
  const theme = useThemeVersion();
  const hoverRef = React.useRef(onHover);
  hoverRef.current = onHover;

  const smoothed = overlay.smoothed !== null;
  const layout = JSON.stringify([
    histories.map(h => [h.label, h.color]),
    xMode,
    overlay.logUsable,
    smoothed,
    height,
    theme
  ]);

  const data = React.useMemo<uPlot.AlignedData>(
    () => [overlay.x, ...overlay.raw, ...(overlay.smoothed ?? [])] as unknown as uPlot.AlignedData,
    [overlay]
  );

  React.useEffect(() => {
    const element = box.current;
    if (!element || width <= 0 || !canvasSupported()) {
      return;
    }
    const text = (): string => cssVar(element, '--jp-ui-font-color2', '#777');
    const grid = (): string => cssVar(element, '--jp-border-color3', '#eee');
    const axis: uPlot.Axis = {
      stroke: text,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      font: `11px ${cssVar(element, '--jp-ui-font-family', 'sans-serif')}`
    };
    const lines: uPlot.Series[] = histories.map(h => ({
      label: h.label,
      stroke: smoothed ? withAlpha(h.color, 0.25) : h.color,
      width: 1,
      // Markers where a line alone would hide the data: a metric logged once or a few times.
      points: { show: h.value.length <= FEW_POINTS, size: 5, fill: h.color },
      show: !hidden.has(h.runId)
    }));
    if (smoothed) {
      histories.forEach(h =>
        lines.push({ label: h.label, stroke: h.color, width: 1.5, points: { show: false }, show: !hidden.has(h.runId) })
      );
    }
    const options: uPlot.Options = {
      width,
      height,
      legend: { show: false },
      cursor: { drag: { x: true, y: false }, points: { size: 6 } },
      scales: {
        x: { time: xMode === 'time' },
        y: overlay.logUsable ? { distr: 3, log: 10 } : {}
      },
      axes: [
        { ...axis },
        { ...axis, size: 60, values: (_u, splits) => splits.map(v => (v === null ? '' : formatNumber(v))) }
      ],
      series: [{}, ...lines],
      hooks: {
        setCursor: [u => hoverRef.current(u.cursor.idx ?? null)]
      }
    };
    const instance = new uPlot(options, data, element);
    plot.current = instance;
    return () => {
      instance.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- data and width go through the effects below, no rebuild
  }, [layout, width > 0]);

  React.useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  React.useEffect(() => {
    if (width > 0) {
      plot.current?.setSize({ width, height });
    }
  }, [width, height]);

  React.useEffect(() => {
    const instance = plot.current;
    if (!instance) {
      return;
    }
    const count = histories.length;
    histories.forEach((h, i) => {
      const show = !hidden.has(h.runId);
      instance.setSeries(i + 1, { show });
      if (smoothed) {
        instance.setSeries(i + 1 + count, { show });
      }
    });
  }, [hidden, histories, smoothed, layout]);

  return (
    <div
      className="jp-nbmlops-chart-plot"
      ref={box}
      role="img"
      aria-label={props.label}
      style={{ minHeight: height }}
    />
  );
}

interface LegendProps {
  trans: TranslationBundle;
  histories: History[];
  overlay: Overlay;
  hover: number | null;
  xMode: XMode;
  hidden: Set<string>;
  onToggle: (runId: string) => void;
}

/** Run labels in their colors; with the cursor on the chart, each run's value there. Click hides a run. */
function Legend(props: LegendProps): React.ReactElement {
  const { trans, histories, overlay, hover, xMode, hidden } = props;
  const at = hover !== null && hover >= 0 && hover < overlay.x.length ? overlay.x[hover] : null;
  return (
    <div className="jp-nbmlops-chart-legend">
      {at !== null ? (
        <span className="jp-nbmlops-chart-at">
          {xMode === 'step' ? trans.__('step %1', formatNumber(at)) : new Date(at * 1000).toLocaleString()}
        </span>
      ) : null}
      <ul aria-label={trans.__('Runs in the chart')}>
        {histories.map((h, i) => {
          const value = hover === null ? null : valueNear((overlay.smoothed ?? overlay.raw)[i], hover);
          const raw = hover === null || !overlay.smoothed ? null : valueNear(overlay.raw[i], hover);
          const off = hidden.has(h.runId);
          return (
            <li key={h.runId}>
              <button
                className={`jp-nbmlops-chart-legend-item${off ? ' jp-mod-off' : ''}`}
                aria-pressed={!off}
                title={
                  h.downsampled
                    ? trans.__('%1: %2 of %3 points shown. Click to show or hide.', h.label, h.value.length, h.total)
                    : trans.__('%1: click to show or hide.', h.label)
                }
                onClick={() => props.onToggle(h.runId)}
              >
                <span className="jp-nbmlops-swatch" style={{ background: h.color }} aria-hidden="true" />
                <span className="jp-nbmlops-chart-legend-label">{h.label}</span>
                {value !== null ? <span className="jp-nbmlops-chart-value">{formatNumber(value)}</span> : null}
                {raw !== null ? (
                  <span className="jp-nbmlops-muted">{trans.__('(raw %1)', formatNumber(raw))}</span>
                ) : null}
                {h.running ? <span className="jp-nbmlops-muted">{trans.__('live')}</span> : null}
              </button>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
