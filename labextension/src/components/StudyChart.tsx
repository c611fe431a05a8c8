import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { niceTicks, PALETTE } from '../charts';
import { Trial } from '../study';
import { PointTooltip, themeColors, truncate, useCanvasPaint, usePointPicker, useWidth } from './canvas';
import { formatNumber, formatValue } from './common';

/** The mark of each state: color and shape, so pruned and failed trials differ from complete ones in both; a running trial (or one in a state this panel does not know) is a grey square. */
export const STATE_MARKS: Record<string, { color: string; shape: 'circle' | 'diamond' | 'cross' | 'square' }> = {
  COMPLETE: { color: PALETTE[0], shape: 'circle' },
  PRUNED: { color: PALETTE[1], shape: 'diamond' },
  FAIL: { color: PALETTE[2], shape: 'cross' }
};
const OTHER_MARK = { color: PALETTE[9], shape: 'square' as const };
/** The best-so-far line's color. */
export const BEST_COLOR = PALETTE[3];

export function markOf(state: string): (typeof STATE_MARKS)[string] {
  return STATE_MARKS[state] ?? OTHER_MARK;
}

const MARGIN = { left: 64, right: 16, top: 12, bottom: 36 };
/** Height of the strip under the plot where trials without a value sit. */
const NO_VALUE_BAND = 18;
/** Params listed in a tooltip (a study may sweep dozens). */
const TOOLTIP_PARAMS = 8;

/** Where each trial and the best-so-far line go in a `width` x `height` plot. */
export interface StudyLayout {
  px: Float64Array;
  py: Float64Array;
  /** The best-so-far line's y per trial (NaN before the first complete trial). */
  bestY: Float64Array;
  xDomain: [number, number];
  yDomain: [number, number];
  /** Whether some trial has no value (they sit in a strip under the plot). */
  band: boolean;
  width: number;
  height: number;
}

function domainOf(values: Iterable<number>): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    if (Number.isFinite(value)) {
      min = Math.min(min, value);
      max = Math.max(max, value);
    }
  }
  if (min > max) {
    return [0, 1];
  }
  // one distinct value sits in the middle; a quarter of a huge value as the margin, so 1e308 does not overflow
  const pad = Math.max(0.5, Math.abs(min) / 4);
  return min === max ? [min - pad, max + pad] : [min, max];
}

/** A position from 0 to 1 on `domain`, computed in halves so that ±1e308 does not overflow. */
function fraction(value: number, [low, high]: [number, number]): number {
  return (value / 2 - low / 2) / (high / 2 - low / 2);
}

/** x by trial number, y by value (4% padding); trials without a value in a strip under the plot. */
export function studyLayout(
  trials: readonly Trial[],
  best: readonly number[],
  width: number,
  height: number
): StudyLayout {
  const band = trials.some(t => !Number.isFinite(t.value));
  const xDomain = domainOf(trials.map(t => t.trial));
  const yDomain = domainOf([...trials.map(t => t.value), ...best]);
  const innerW = Math.max(1, width - MARGIN.left - MARGIN.right);
  const plotH = Math.max(1, height - MARGIN.top - MARGIN.bottom - (band ? NO_VALUE_BAND : 0));
  const x = (trial: number): number => MARGIN.left + (0.04 + fraction(trial, xDomain) * 0.92) * innerW;
  const y = (value: number): number =>
    Number.isFinite(value) ? MARGIN.top + (1 - (0.04 + fraction(value, yDomain) * 0.92)) * plotH : NaN;
  const bandY = MARGIN.top + plotH + NO_VALUE_BAND / 2;
  return {
    px: Float64Array.from(trials, t => x(t.trial)),
    py: Float64Array.from(trials, t => (Number.isFinite(t.value) ? y(t.value) : bandY)),
    bestY: Float64Array.from(best, y),
    xDomain,
    yDomain,
    band,
    width,
    height
  };
}

function drawMark(context: CanvasRenderingContext2D, x: number, y: number, state: string, size: number): void {
  const { color, shape } = markOf(state);
  context.fillStyle = color;
  context.strokeStyle = color;
  context.beginPath();
  if (shape === 'circle') {
    context.arc(x, y, size, 0, 2 * Math.PI);
    context.fill();
  } else if (shape === 'diamond') {
    context.moveTo(x, y - size - 1);
    context.lineTo(x + size + 1, y);
    context.lineTo(x, y + size + 1);
    context.lineTo(x - size - 1, y);
    context.closePath();
    context.fill();
  } else if (shape === 'cross') {
    context.lineWidth = 2;
    context.moveTo(x - size, y - size);
    context.lineTo(x + size, y + size);
    context.moveTo(x + size, y - size);
    context.lineTo(x - size, y + size);
    context.stroke();
    context.lineWidth = 1;
  } else {
    context.fillRect(x - size, y - size, 2 * size, 2 * size);
  }
}

/** Draw the frame, ticks, best-so-far line and trials; `active` is the highlighted trial's index or -1. */
function draw(
  context: CanvasRenderingContext2D,
  trials: readonly Trial[],
  layout: StudyLayout,
  active: number,
  colors: ReturnType<typeof themeColors>,
  font: string,
  noValue: string
): void {
  const { width, height, xDomain, yDomain } = layout;
  const innerW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom - (layout.band ? NO_VALUE_BAND : 0);
  context.font = font;
  context.lineWidth = 1;
  context.strokeStyle = colors.grid;
  context.fillStyle = colors.muted;
  context.textAlign = 'right';
  context.textBaseline = 'middle';
  for (const tick of niceTicks(yDomain[0], yDomain[1], 5)) {
    const y = MARGIN.top + (1 - (0.04 + fraction(tick, yDomain) * 0.92)) * plotH;
    context.beginPath();
    context.moveTo(MARGIN.left, y);
    context.lineTo(width - MARGIN.right, y);
    context.stroke();
    context.fillText(formatValue(tick), MARGIN.left - 6, y);
  }
  if (layout.band) {
    context.fillText(truncate(noValue, 10), MARGIN.left - 6, MARGIN.top + plotH + NO_VALUE_BAND / 2);
  }
  context.textAlign = 'center';
  context.textBaseline = 'top';
  const bottom = height - MARGIN.bottom;
  for (const tick of niceTicks(xDomain[0], xDomain[1], Math.max(2, Math.floor(innerW / 80)))) {
    if (Number.isInteger(tick)) {
      context.fillText(String(tick), MARGIN.left + (0.04 + fraction(tick, xDomain) * 0.92) * innerW, bottom + 6);
    }
  }
  context.strokeStyle = colors.axis;
  context.strokeRect(MARGIN.left + 0.5, MARGIN.top + 0.5, innerW, plotH);

  // best so far: a step line, flat until a trial improves on it
  context.strokeStyle = BEST_COLOR;
  context.lineWidth = 2;
  context.beginPath();
  let drawing = false;
  layout.bestY.forEach((y, i) => {
    if (!Number.isFinite(y)) {
      return;
    }
    if (drawing) {
      context.lineTo(layout.px[i], layout.bestY[i - 1]);
      context.lineTo(layout.px[i], y);
    } else {
      context.moveTo(layout.px[i], y);
      drawing = true;
    }
  });
  context.stroke();
  context.lineWidth = 1;

  trials.forEach((trial, i) => drawMark(context, layout.px[i], layout.py[i], trial.state, 4));
  if (active >= 0 && active < trials.length) {
    context.strokeStyle = colors.text;
    context.lineWidth = 2;
    context.beginPath();
    context.arc(layout.px[active], layout.py[active], 7, 0, 2 * Math.PI);
    context.stroke();
    context.lineWidth = 1;
  }
}

/** What the tooltip tells of a trial: its number, state, value and (some of) its params. */
function TrialTip(props: { trans: TranslationBundle; trial: Trial; metric: string }): React.ReactElement {
  const { trans, trial, metric } = props;
  const params = Object.entries(trial.params);
  return (
    <>
      <span className="jp-nbmlops-swatch" style={{ background: markOf(trial.state).color }} aria-hidden="true" />
      <strong>{trans.__('Trial %1', trial.trial)}</strong> {trial.state}
      <br />
      {metric || trans.__('value')} = {Number.isFinite(trial.value) ? formatNumber(trial.value) : trans.__('none')}
      {params.slice(0, TOOLTIP_PARAMS).map(([key, value]) => (
        <React.Fragment key={key}>
          <br />
          {key} = {formatValue(value)}
        </React.Fragment>
      ))}
      {params.length > TOOLTIP_PARAMS ? (
        <>
          <br />
          {trans.__('and %1 more params', params.length - TOOLTIP_PARAMS)}
        </>
      ) : null}
    </>
  );
}

/**
 * The objective over trials on a canvas: one mark per trial, its color and shape by state (complete,
 * pruned, failed), trials without a value in a strip underneath, and the best value so far as a line.
 * Hover or arrow keys show a trial; Enter or a click opens its run.
 */
export function StudyChart(props: {
  trans: TranslationBundle;
  trials: Trial[];
  best: number[];
  metric: string;
  height?: number;
  onOpen?: (runId: string) => void;
}): React.ReactElement {
  const { trans, trials, best, metric } = props;
  const height = props.height ?? 260;
  const box = React.useRef<HTMLDivElement>(null);
  const width = useWidth(box);
  const layout = React.useMemo(() => studyLayout(trials, best, width, height), [trials, best, width, height]);
  const noValue = trans.__('no value');

  const { active, handlers } = usePointPicker(layout.px, layout.py, 10, index => {
    const runId = trials[index]?.runId;
    if (runId) {
      props.onOpen?.(runId);
    }
  });

  const canvas = useCanvasPaint(
    width,
    height,
    (context, colors, font) => draw(context, trials, layout, active, colors, font, noValue),
    [trials, layout, active, noValue]
  );

  const trial = active >= 0 && active < trials.length ? trials[active] : null;
  return (
    <div className="jp-nbmlops-study-chart" ref={box}>
      <canvas
        ref={canvas}
        className="jp-nbmlops-study-canvas"
        tabIndex={0}
        role="img"
        aria-label={trans.__(
          '%1 over %2 trials, with the best so far; arrow keys go through the trials',
          metric,
          trials.length
        )}
        style={{ height }}
        {...handlers}
      />
      {trial ? (
        <PointTooltip x={layout.px[active]} y={layout.py[active]} width={width}>
          <TrialTip trans={trans} trial={trial} metric={metric} />
        </PointTooltip>
      ) : null}
    </div>
  );
}
