// The math behind the compare view's charts, kept free of the DOM so jest can check it.

/** Whether a smaller or a larger value of a metric is better. */
export type Direction = 'min' | 'max';

/**
 * The direction of metric `name` as the server decides it (GET keys' `directions`, the one rule of
 * nbmlops.metric_direction); a metric the server does not list counts as higher-is-better.
 */
export function metricDirection(directions: Readonly<Record<string, Direction>>, name: string): Direction {
  return directions[name] ?? 'max';
}

/**
 * Indices of the best finite values (all of them on a tie); none when fewer than two values are
 * comparable, since a lone value is not "best" of anything.
 */
export function bestIndices(values: readonly (number | null | undefined)[], direction: Direction): number[] {
  let best: number | null = null;
  let finite = 0;
  for (const value of values) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      continue;
    }
    finite++;
    if (best === null || (direction === 'min' ? value < best : value > best)) {
      best = value;
    }
  }
  if (best === null || finite < 2) {
    return [];
  }
  const indices: number[] = [];
  values.forEach((value, index) => {
    if (value === best) {
      indices.push(index);
    }
  });
  return indices;
}

/**
 * Series colors: mid-luminance hues (Tableau 10, blue lifted) that stay readable on JupyterLab's
 * light and dark backgrounds alike.
 */
export const PALETTE = [
  '#5b8fd6',
  '#f28e2b',
  '#e15759',
  '#59a14f',
  '#b07aa1',
  '#76b7b2',
  '#edc948',
  '#ff9da7',
  '#9c755f',
  '#8f8f8f'
];

/** The palette color of the `index`-th series (wraps around). */
export function colorOf(index: number): string {
  return PALETTE[((index % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

/** `hex` (#rrggbb) with an alpha, as an rgba() string. */
export function withAlpha(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/** Stops of the ramp lines are colored by (low -> high metric): blue, yellow, red, all mid-luminance. */
const RAMP: [number, number, number][] = [
  [0x4e, 0x79, 0xa7],
  [0x76, 0xb7, 0xb2],
  [0xed, 0xc9, 0x48],
  [0xe1, 0x57, 0x59]
];

/** A color on the sequential ramp for t in [0, 1] (clamped; NaN gives the middle). */
export function rampColor(t: number): string {
  const clamped = Number.isNaN(t) ? 0.5 : Math.min(1, Math.max(0, t));
  const position = clamped * (RAMP.length - 1);
  const low = Math.min(RAMP.length - 2, Math.floor(position));
  const f = position - low;
  const [a, b] = [RAMP[low], RAMP[low + 1]];
  const channel = (i: number): number => Math.round(a[i] + (b[i] - a[i]) * f);
  return `rgb(${channel(0)}, ${channel(1)}, ${channel(2)})`;
}

/**
 * TensorBoard's smoothing: an exponential moving average, debiased so the first points are not
 * pulled towards zero. `weight` in [0, 1); non-finite values stay as they are (gaps) and do not
 * feed the average.
 */
export function emaSmooth(values: ArrayLike<number>, weight: number): Float64Array {
  const out = new Float64Array(values.length);
  const w = Math.min(Math.max(weight, 0), 0.999);
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (!Number.isFinite(value)) {
      out[i] = value;
      continue;
    }
    last = last * w + (1 - w) * value;
    count++;
    const debias = w === 0 ? 1 : 1 - Math.pow(w, count);
    out[i] = last / debias;
  }
  return out;
}

/** One series of an overlay: x (steps or seconds) and y, both sorted by x. */
export interface XY {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

/** Several series on one shared x, as uPlot wants them. */
export interface Aligned {
  x: Float64Array;
  /**
   * One array per series: a number, null where the series has a non-finite value (drawn as a gap),
   * undefined where the series has no point at that x (the line goes across).
   */
  ys: (number | null | undefined)[][];
}

/** The sorted union of all series' x, each series' y placed on it (see Aligned); one k-way merge pass. */
export function alignSeries(series: readonly XY[]): Aligned {
  const inputs = series.map(sortedByX);
  const k = inputs.length;
  let total = 0;
  for (const s of inputs) {
    total += s.x.length;
  }
  const heads = new Int32Array(k);
  const x = new Float64Array(total);
  const ys: (number | null | undefined)[][] = inputs.map(() => new Array<number | null | undefined>(total));
  let unique = 0;
  for (;;) {
    let min = Infinity;
    for (let j = 0; j < k; j++) {
      const s = inputs[j];
      if (heads[j] < s.x.length && s.x[heads[j]] < min) {
        min = s.x[heads[j]];
      }
    }
    if (min === Infinity) {
      break;
    }
    x[unique++] = min;
    for (let j = 0; j < k; j++) {
      const s = inputs[j];
      let value: number | null | undefined = undefined;
      while (heads[j] < s.x.length && s.x[heads[j]] === min) {
        const y = s.y[heads[j]++];
        value = Number.isFinite(y) ? y : null; // a repeated x keeps its last value
      }
      ys[j][unique - 1] = value;
    }
  }
  for (const y of ys) {
    y.length = unique;
  }
  return { x: unique === total ? x : x.slice(0, unique), ys };
}

/** `s` itself when its x is finite and ascending (the usual case), else a sorted copy without non-finite x. */
function sortedByX(s: XY): XY {
  let ok = true;
  for (let i = 0; i < s.x.length; i++) {
    if (!Number.isFinite(s.x[i]) || (i > 0 && s.x[i] < s.x[i - 1])) {
      ok = false;
      break;
    }
  }
  if (ok) {
    return s;
  }
  const order: number[] = [];
  for (let i = 0; i < s.x.length; i++) {
    if (Number.isFinite(s.x[i])) {
      order.push(i);
    }
  }
  order.sort((a, b) => s.x[a] - s.x[b] || a - b); // stable: a repeated x keeps its logging order
  return { x: Float64Array.from(order, i => s.x[i]), y: Float64Array.from(order, i => s.y[i]) };
}

/** A series for a log scale: values <= 0 become gaps; `hidden` counts them. */
export function logSafe(y: readonly (number | null | undefined)[]): {
  y: (number | null | undefined)[];
  hidden: number;
} {
  let hidden = 0;
  const out = y.map(value => {
    if (typeof value === 'number' && value <= 0) {
      hidden++;
      return null;
    }
    return value;
  });
  return { y: out, hidden };
}

/** Whether any value is a finite positive number (a log scale has something to show). */
export function hasPositive(ys: readonly (readonly (number | null | undefined)[])[]): boolean {
  return ys.some(y => y.some(value => typeof value === 'number' && value > 0 && Number.isFinite(value)));
}

// ---- plain 2-D plots (scatter, parallel coordinates) ----

/** Whether values (missing ones left out) are all finite numbers or a set of categories. */
export type AxisKind = 'numeric' | 'categorical';

/** True for values that count as missing on an axis: null, undefined, NaN, ±Infinity. */
export function isMissing(value: unknown): boolean {
  return value === null || value === undefined || (typeof value === 'number' && !Number.isFinite(value));
}

/** Numeric when every present value is a finite number, else categorical. */
export function axisKind(values: readonly unknown[]): AxisKind {
  return values.every(value => isMissing(value) || typeof value === 'number') ? 'numeric' : 'categorical';
}

/** A value as a category label (strings as they are, others as JSON). */
export function categoryOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** An axis over some values: numeric with a domain, or categorical with its categories in order. */
export interface Axis {
  kind: AxisKind;
  /** Numeric: [min, max] of the finite values ([0, 1] when there are none). */
  domain: [number, number];
  /** Categorical: the distinct labels, numbers before strings, each group sorted. */
  categories: string[];
}

/** The axis that fits `values`. */
export function axisOf(values: readonly unknown[]): Axis {
  const kind = axisKind(values);
  if (kind === 'numeric') {
    let min = Infinity;
    let max = -Infinity;
    for (const value of values) {
      if (!isMissing(value)) {
        min = Math.min(min, value as number);
        max = Math.max(max, value as number);
      }
    }
    return { kind, domain: min <= max ? [min, max] : [0, 1], categories: [] };
  }
  const present = values.filter(value => !isMissing(value));
  const labels = Array.from(new Set(present.map(categoryOf)));
  labels.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  return { kind, domain: [0, Math.max(0, labels.length - 1)], categories: labels };
}

/**
 * Where `value` falls on `axis`, from 0 (low end) to 1 (high end); null when missing or unknown.
 * A numeric axis with one distinct value puts it in the middle; categories are evenly spaced.
 */
export function axisPosition(axis: Axis, value: unknown): number | null {
  if (isMissing(value)) {
    return null;
  }
  if (axis.kind === 'numeric') {
    if (typeof value !== 'number') {
      return null;
    }
    const [min, max] = axis.domain;
    return max === min ? 0.5 : (value - min) / (max - min);
  }
  const index = axis.categories.indexOf(categoryOf(value));
  if (index < 0) {
    return null;
  }
  return axis.categories.length === 1 ? 0.5 : index / (axis.categories.length - 1);
}

/** About `count` round tick values covering [min, max] (1, 2 or 5 times a power of ten apart). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    return [];
  }
  if (min === max) {
    return [min];
  }
  const [low, high] = min < max ? [min, max] : [max, min];
  const raw = (high - low) / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map(m => m * power).find(s => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let tick = Math.ceil(low / step) * step; tick <= high + step * 1e-9; tick += step) {
    ticks.push(Math.abs(tick) < step * 1e-9 ? 0 : Number(tick.toPrecision(12)));
  }
  return ticks;
}

/** The index of the point nearest (px, py) within `radius` pixels, or -1. */
export function nearestPoint(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  px: number,
  py: number,
  radius: number
): number {
  let best = -1;
  let bestDistance = radius * radius;
  for (let i = 0; i < xs.length; i++) {
    const dx = xs[i] - px;
    const dy = ys[i] - py;
    const distance = dx * dx + dy * dy;
    if (distance <= bestDistance) {
      best = i;
      bestDistance = distance;
    }
  }
  return best;
}

/** Squared distance from (px, py) to the segment (ax, ay)-(bx, by). */
export function segmentDistance2(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const length2 = dx * dx + dy * dy;
  const t = length2 === 0 ? 0 : Math.min(1, Math.max(0, ((px - ax) * dx + (py - ay) * dy) / length2));
  const cx = ax + t * dx - px;
  const cy = ay + t * dy - py;
  return cx * cx + cy * cy;
}

// ---- comparing runs ----

/** One row of the parameter diff: a key, each run's value (undefined when absent), and whether they differ. */
export interface DiffRow {
  key: string;
  values: unknown[];
  differs: boolean;
}

/** Stable text of a value for equality (object keys sorted), "" for undefined. */
function canonical(value: unknown): string {
  if (value === undefined) {
    return '';
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.keys(value)
      .sort()
      .map(key => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  if (Array.isArray(value)) {
    return `[${value.map(canonical).join(',')}]`;
  }
  return typeof value === 'number' && Number.isNaN(value) ? 'NaN' : JSON.stringify(value);
}

/** The union of keys of `records`, sorted, each with every record's value and whether they differ. */
export function diffRows(records: readonly Record<string, unknown>[]): DiffRow[] {
  const keys = new Set<string>();
  for (const record of records) {
    Object.keys(record).forEach(key => keys.add(key));
  }
  return Array.from(keys)
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
    .map(key => {
      const values = records.map(record =>
        Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined
      );
      const first = canonical(values[0]);
      return { key, values, differs: values.some(value => canonical(value) !== first) };
    });
}

/** Whether `value` differs from the row's first value (the cell to highlight). */
export function differsFromFirst(row: DiffRow, index: number): boolean {
  return canonical(row.values[index]) !== canonical(row.values[0]);
}

// ---- metric history overlays ----

/**
 * How a metric is drawn: as bars (one per run) when no run has more than one point of it and some
 * run has one (a final score logged once), as lines over steps otherwise.
 */
export function chartShape(pointCounts: readonly number[]): 'bars' | 'lines' {
  return pointCounts.some(count => count === 1) && pointCounts.every(count => count <= 1) ? 'bars' : 'lines';
}

/** Where bars sit: the span of the finite values widened to include 0, as [low, high] with low < high. */
export function barDomain(values: readonly (number | null | undefined)[]): [number, number] {
  let low = 0;
  let high = 0;
  for (const value of values) {
    if (typeof value === 'number' && Number.isFinite(value)) {
      low = Math.min(low, value);
      high = Math.max(high, value);
    }
  }
  if (low === high) {
    return [0, 1];
  }
  return [low, high];
}

/**
 * A bar of `value` on `domain`, in fractions of the plot's height from the top: where it starts and
 * how tall it is (from the zero line up or down); null for a missing or non-finite value.
 */
export function barExtent(
  value: number | null | undefined,
  domain: [number, number]
): { top: number; height: number } | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return null;
  }
  // halves, so that a domain as wide as ±1e308 does not overflow to Infinity
  const [low, high] = domain;
  const span = high / 2 - low / 2;
  const zero = high / 2 / span;
  const at = (high / 2 - value / 2) / span;
  return { top: Math.min(zero, at), height: Math.abs(at - zero) };
}

/** What the chart draws: one shared x, each run's raw and (when smoothing) smoothed y. */
export interface Overlay {
  x: Float64Array;
  raw: (number | null | undefined)[][];
  /** null when smoothing is off. */
  smoothed: (number | null | undefined)[][] | null;
  /** Points left out because the log scale cannot show values <= 0. */
  hidden: number;
  /** False when a log scale was asked for but no value is positive (the chart stays linear). */
  logUsable: boolean;
}

/** Smooth each series on its own points, align all of them on one x, and make them log-safe if asked. */
export function buildOverlay(series: readonly XY[], options: { smoothing: number; log: boolean }): Overlay {
  const smoothing = options.smoothing > 0;
  const inputs: XY[] = [...series];
  if (smoothing) {
    for (const s of series) {
      inputs.push({ x: s.x, y: emaSmooth(s.y, options.smoothing) });
    }
  }
  const { x, ys } = alignSeries(inputs);
  let raw = ys.slice(0, series.length);
  let smoothed = smoothing ? ys.slice(series.length) : null;
  let hidden = 0;
  const logUsable = options.log && hasPositive(raw);
  if (logUsable) {
    raw = raw.map(y => {
      const safe = logSafe(y);
      hidden += safe.hidden;
      return safe.y;
    });
    smoothed = smoothed ? smoothed.map(y => logSafe(y).y) : null;
  }
  return { x, raw, smoothed, hidden, logUsable };
}

/** The value of `y` at `index`, or at the nearest index that has one (series logged at other steps). */
export function valueNear(y: readonly (number | null | undefined)[], index: number, reach = 64): number | null {
  for (let d = 0; d <= reach; d++) {
    for (const i of d === 0 ? [index] : [index - d, index + d]) {
      const value = y[i];
      if (i >= 0 && i < y.length && value !== undefined) {
        return value;
      }
    }
  }
  return null;
}
