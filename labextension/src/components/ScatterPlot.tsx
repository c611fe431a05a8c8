import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { Axis, axisOf, axisPosition, categoryOf, isMissing, niceTicks } from '../charts';
import { PointTooltip, themeColors, truncate, useCanvasPaint, usePointPicker, useWidth } from './canvas';
import { formatValue } from './common';

/** One run in the scatter: x may be a number or a category; y a metric value. */
export interface ScatterPoint {
  id: string;
  label: string;
  color: string;
  x: unknown;
  y: number | undefined;
}

export interface ScatterPlotProps {
  trans: TranslationBundle;
  points: ScatterPoint[];
  xLabel: string;
  yLabel: string;
  height?: number;
  /** Enter on a focused point, or a click on one. */
  onActivate?: (id: string) => void;
}

const MARGIN = { left: 64, right: 16, top: 12, bottom: 44 };

/** Pixel positions of the points that have both coordinates (others are counted as left out). */
interface Layout {
  xAxis: Axis;
  yAxis: Axis;
  shown: ScatterPoint[];
  px: Float64Array;
  py: Float64Array;
  width: number;
  height: number;
}

/** Where each point goes in a `width` x `height` plot; categories are spaced evenly with a half-slot margin. */
export function scatterLayout(points: ScatterPoint[], width: number, height: number): Layout {
  const shown = points.filter(p => !isMissing(p.x) && !isMissing(p.y));
  const xAxis = axisOf(shown.map(p => p.x));
  const yAxis = axisOf(shown.map(p => p.y));
  const innerW = Math.max(1, width - MARGIN.left - MARGIN.right);
  const innerH = Math.max(1, height - MARGIN.top - MARGIN.bottom);
  const slots = xAxis.kind === 'categorical' ? Math.max(1, xAxis.categories.length) : 1;
  const px = new Float64Array(shown.length);
  const py = new Float64Array(shown.length);
  shown.forEach((p, i) => {
    const tx = axisPosition(xAxis, p.x) ?? 0.5;
    const ty = axisPosition(yAxis, p.y) ?? 0.5;
    // categorical: slot centers; numeric: 4% padding so extreme points are not on the frame
    const fx =
      xAxis.kind === 'categorical' ? (xAxis.categories.indexOf(categoryOf(p.x)) + 0.5) / slots : 0.04 + tx * 0.92;
    px[i] = MARGIN.left + fx * innerW;
    py[i] = MARGIN.top + (1 - (0.04 + ty * 0.92)) * innerH;
  });
  return { xAxis, yAxis, shown, px, py, width, height };
}

/** Draw the frame, ticks and points; `active` is the highlighted point's index or -1. */
function draw(
  context: CanvasRenderingContext2D,
  layout: Layout,
  active: number,
  colors: ReturnType<typeof themeColors>,
  font: string
): void {
  const { width, height, xAxis, yAxis } = layout;
  const innerW = width - MARGIN.left - MARGIN.right;
  const innerH = height - MARGIN.top - MARGIN.bottom;
  context.font = font;
  context.lineWidth = 1;
  context.strokeStyle = colors.grid;
  context.fillStyle = colors.muted;

  context.textAlign = 'right';
  context.textBaseline = 'middle';
  for (const tick of yAxis.kind === 'numeric' ? niceTicks(yAxis.domain[0], yAxis.domain[1], 5) : []) {
    const t = axisPosition(yAxis, tick) ?? 0.5;
    const y = MARGIN.top + (1 - (0.04 + t * 0.92)) * innerH;
    context.beginPath();
    context.moveTo(MARGIN.left, y);
    context.lineTo(width - MARGIN.right, y);
    context.stroke();
    context.fillText(formatValue(tick), MARGIN.left - 6, y);
  }
  context.textAlign = 'center';
  context.textBaseline = 'top';
  if (xAxis.kind === 'numeric') {
    for (const tick of niceTicks(xAxis.domain[0], xAxis.domain[1], Math.max(2, Math.floor(innerW / 90)))) {
      const t = axisPosition(xAxis, tick) ?? 0.5;
      const x = MARGIN.left + (0.04 + t * 0.92) * innerW;
      context.beginPath();
      context.moveTo(x, MARGIN.top);
      context.lineTo(x, MARGIN.top + innerH);
      context.stroke();
      context.fillText(formatValue(tick), x, MARGIN.top + innerH + 6);
    }
  } else {
    const slot = innerW / Math.max(1, xAxis.categories.length);
    const chars = Math.max(3, Math.floor(slot / 7));
    xAxis.categories.forEach((category, i) => {
      context.fillText(truncate(category, chars), MARGIN.left + (i + 0.5) * slot, MARGIN.top + innerH + 6);
    });
  }
  context.strokeStyle = colors.axis;
  context.strokeRect(MARGIN.left + 0.5, MARGIN.top + 0.5, innerW, innerH);

  layout.shown.forEach((point, i) => {
    context.beginPath();
    context.arc(layout.px[i], layout.py[i], i === active ? 6 : 4, 0, 2 * Math.PI);
    context.fillStyle = point.color;
    context.fill();
    if (i === active) {
      context.strokeStyle = colors.text;
      context.lineWidth = 2;
      context.stroke();
      context.lineWidth = 1;
    }
  });
}

/**
 * Runs as points on a canvas: x a param or metric (numeric or categorical), y a metric. Hover or
 * arrow keys show a run; Enter or a click opens it.
 */
export function ScatterPlot(props: ScatterPlotProps): React.ReactElement {
  const { trans, points, xLabel, yLabel } = props;
  const height = props.height ?? 300;
  const box = React.useRef<HTMLDivElement>(null);
  const width = useWidth(box);
  const layout = React.useMemo(() => scatterLayout(points, width, height), [points, width, height]);
  const missing = points.length - layout.shown.length;

  const { active, handlers } = usePointPicker(layout.px, layout.py, 12, index =>
    props.onActivate?.(layout.shown[index].id)
  );

  const canvas = useCanvasPaint(width, height, (context, colors, font) => draw(context, layout, active, colors, font), [
    layout,
    active
  ]);

  const point = active >= 0 && active < layout.shown.length ? layout.shown[active] : null;
  return (
    <div className="jp-nbmlops-scatter" ref={box}>
      <canvas
        ref={canvas}
        className="jp-nbmlops-scatter-canvas"
        tabIndex={0}
        role="img"
        aria-label={trans.__('Scatter of %1 against %2; arrow keys go through the runs', yLabel, xLabel)}
        style={{ height }}
        {...handlers}
      />
      <div className="jp-nbmlops-scatter-axes">
        <span className="jp-nbmlops-muted" title={yLabel}>
          {trans.__('y: %1', yLabel)}
        </span>
        <span className="jp-nbmlops-muted" title={xLabel}>
          {trans.__('x: %1', xLabel)}
        </span>
        {missing > 0 ? (
          <span className="jp-nbmlops-muted">
            {trans._n('%1 run without a value is not shown', '%1 runs without a value are not shown', missing)}
          </span>
        ) : null}
      </div>
      {point ? (
        <PointTooltip x={layout.px[active]} y={layout.py[active]} width={width}>
          <span className="jp-nbmlops-swatch" style={{ background: point.color }} aria-hidden="true" />
          <strong>{point.label}</strong>
          <br />
          {xLabel} = {formatValue(point.x)}
          <br />
          {yLabel} = {formatValue(point.y)}
        </PointTooltip>
      ) : null}
    </div>
  );
}
