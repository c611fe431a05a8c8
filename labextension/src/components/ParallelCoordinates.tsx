import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { Axis, axisOf, axisPosition, niceTicks, rampColor } from '../charts';
import { truncate, useWidth } from './canvas';
import { formatValue } from './common';

/** One axis: a label and each run's value on it (aligned with `runs`). */
export interface Dimension {
  key: string;
  label: string;
  values: unknown[];
}

export interface ParallelCoordinatesProps {
  trans: TranslationBundle;
  runs: { id: string; label: string }[];
  /** Params first, the metric last; lines are colored by the last dimension. */
  dimensions: Dimension[];
  height?: number;
  onActivate?: (id: string) => void;
}

const MARGIN = { left: 56, right: 56, top: 36, bottom: 28 };

/** The ticks to label on an axis: a few round numbers, or the categories (thinned when many). */
function axisTicks(axis: Axis, room: number): { value: unknown; label: string }[] {
  if (axis.kind === 'numeric') {
    return niceTicks(axis.domain[0], axis.domain[1], Math.max(2, Math.floor(room / 40))).map(value => ({
      value,
      label: formatValue(value)
    }));
  }
  const every = Math.max(1, Math.ceil(axis.categories.length / Math.max(1, Math.floor(room / 16))));
  return axis.categories.filter((_, i) => i % every === 0).map(category => ({ value: category, label: category }));
}

/**
 * Runs as lines across one vertical axis per dimension (SVG): numeric axes scaled to their values,
 * categorical axes with evenly spaced categories, missing values as breaks in the line; lines are
 * colored by the metric. Hover or arrow keys pick a run; Enter or a click opens it.
 */
export function ParallelCoordinates(props: ParallelCoordinatesProps): React.ReactElement {
  const { trans, runs, dimensions } = props;
  const height = props.height ?? 320;
  const box = React.useRef<HTMLDivElement>(null);
  const width = Math.max(320, useWidth(box));
  const [active, setActive] = React.useState(-1);
  const gradientId = React.useId().replace(/:/g, '');

  const axes = React.useMemo(() => dimensions.map(d => axisOf(d.values)), [dimensions]);
  const innerH = height - MARGIN.top - MARGIN.bottom;
  const step = dimensions.length > 1 ? (width - MARGIN.left - MARGIN.right) / (dimensions.length - 1) : 0;
  const xOf = (i: number): number => (dimensions.length > 1 ? MARGIN.left + i * step : width / 2);
  const yOf = (t: number): number => MARGIN.top + (1 - t) * innerH;

  const colorAxis = axes[axes.length - 1];
  const colorValues = dimensions[dimensions.length - 1]?.values ?? [];

  const paths = React.useMemo(
    () =>
      runs.map((_, r) => {
        let d = '';
        let pen = false;
        dimensions.forEach((dimension, i) => {
          const t = axisPosition(axes[i], dimension.values[r]);
          if (t === null) {
            pen = false;
            return;
          }
          d += `${pen ? 'L' : 'M'}${xOf(i).toFixed(1)},${yOf(t).toFixed(1)}`;
          pen = true;
        });
        // a lone point between gaps still shows up as a dot
        return d.replace(/M([\d.-]+),([\d.-]+)(?=M|$)/g, 'M$1,$2h0.01');
      }),
    // eslint-disable-next-line react-hooks/exhaustive-deps -- xOf and yOf are made from axes, width and height
    [runs, dimensions, axes, width, height]
  );

  const colorOfRun = (r: number): string => {
    const t = colorAxis ? axisPosition(colorAxis, colorValues[r]) : null;
    return t === null ? 'var(--jp-ui-font-color3)' : rampColor(t);
  };

  const onKeyDown = (event: React.KeyboardEvent): void => {
    if (runs.length === 0) {
      return;
    }
    if (event.key === 'ArrowRight' || event.key === 'ArrowDown') {
      setActive(i => (i + 1) % runs.length);
    } else if (event.key === 'ArrowLeft' || event.key === 'ArrowUp') {
      setActive(i => (i <= 0 ? runs.length - 1 : i - 1));
    } else if (event.key === 'Enter' && active >= 0) {
      props.onActivate?.(runs[active].id);
    } else if (event.key === 'Escape') {
      setActive(-1);
    } else {
      return;
    }
    event.preventDefault();
  };

  const labelChars = Math.max(6, Math.floor(step / 7));
  const current = active >= 0 && active < runs.length ? active : -1;
  return (
    <div className="jp-nbmlops-parallel" ref={box}>
      <svg
        width={width}
        height={height}
        tabIndex={0}
        role="img"
        aria-label={trans.__('Parallel coordinates of %1 runs; arrow keys go through the runs', runs.length)}
        onKeyDown={onKeyDown}
        onMouseLeave={() => setActive(-1)}
      >
        <defs>
          <linearGradient id={gradientId} x1="0" x2="1" y1="0" y2="0">
            {[0, 0.33, 0.67, 1].map(t => (
              <stop key={t} offset={t} stopColor={rampColor(t)} />
            ))}
          </linearGradient>
        </defs>
        <g className="jp-nbmlops-parallel-lines">
          {paths.map((d, r) => (
            <path
              key={runs[r].id}
              d={d}
              className={r === current ? 'jp-mod-active' : current >= 0 ? 'jp-mod-dim' : ''}
              style={{ stroke: colorOfRun(r) }}
              onMouseEnter={() => setActive(r)}
              onClick={() => props.onActivate?.(runs[r].id)}
            >
              <title>{runs[r].label}</title>
            </path>
          ))}
        </g>
        {dimensions.map((dimension, i) => (
          <g key={dimension.key} className="jp-nbmlops-parallel-axis" transform={`translate(${xOf(i)},0)`}>
            <line x1={0} x2={0} y1={MARGIN.top} y2={MARGIN.top + innerH} />
            <text className="jp-nbmlops-parallel-title" y={MARGIN.top - 16} textAnchor="middle">
              <title>{dimension.label}</title>
              {truncate(dimension.label, labelChars)}
            </text>
            {axisTicks(axes[i], innerH).map(tick => {
              const t = axisPosition(axes[i], tick.value);
              return t === null ? null : (
                <text key={tick.label} x={-4} y={yOf(t)} textAnchor="end" dominantBaseline="middle">
                  {truncate(tick.label, 10)}
                </text>
              );
            })}
          </g>
        ))}
        {colorAxis && colorAxis.kind === 'numeric' ? (
          <g
            className="jp-nbmlops-parallel-scale"
            transform={`translate(${width - MARGIN.right - 120},${height - 14})`}
          >
            <text x={-4} y={4} textAnchor="end">
              {formatValue(colorAxis.domain[0])}
            </text>
            <rect width={120} height={6} y={-2} fill={`url(#${gradientId})`} />
            <text x={124} y={4}>
              {formatValue(colorAxis.domain[1])}
            </text>
          </g>
        ) : null}
      </svg>
      <p className="jp-nbmlops-parallel-status" role="status">
        {current >= 0
          ? `${runs[current].label}: ` +
            dimensions.map(d => `${d.label} = ${formatValue(d.values[current]) || '—'}`).join(', ')
          : ''}
      </p>
    </div>
  );
}
