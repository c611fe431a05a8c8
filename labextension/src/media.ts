// What the Media sections show, kept free of the DOM so jest can check it: a run's media grouped by
// kind and name, the step a slider can reach, the item shown at a step, and a table page sorted in place
// while the server sorts the whole table.
import { MediaItem, MediaKind } from './types';

/** The kinds of media in the order the Media section shows them. */
export const MEDIA_KINDS: MediaKind[] = ['image', 'figure', 'table', 'text'];

/** One name's items (the same image logged at several steps), oldest step first. */
export interface MediaSeries {
  name: string;
  items: MediaItem[];
}

/** A step as a sortable number: an item logged without a step comes before every step. */
function stepOrder(item: MediaItem): number {
  return typeof item.step === 'number' && Number.isFinite(item.step) ? item.step : -Infinity;
}

/** The items of `kind`, one series per name (names in natural order), each series by step. */
export function mediaSeries(items: readonly MediaItem[], kind: MediaKind): MediaSeries[] {
  const byName = new Map<string, MediaItem[]>();
  for (const item of items) {
    if (item.kind !== kind) {
      continue;
    }
    const list = byName.get(item.name);
    if (list) {
      list.push(item);
    } else {
      byName.set(item.name, [item]);
    }
  }
  return Array.from(byName, ([name, list]) => ({
    name,
    items: list.sort((a, b) => stepOrder(a) - stepOrder(b))
  })).sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
}

/** The distinct steps of some series, ascending (items without a step add none). */
export function mediaSteps(series: readonly MediaSeries[]): number[] {
  const steps = new Set<number>();
  for (const s of series) {
    for (const item of s.items) {
      if (typeof item.step === 'number' && Number.isFinite(item.step)) {
        steps.add(item.step);
      }
    }
  }
  return Array.from(steps).sort((a, b) => a - b);
}

/**
 * The item of `items` (sorted by step) to show at `step`: the last one logged at or before it, so an
 * image logged every 10 steps stays on screen between them; the first one when all come later;
 * the latest one when `step` is null (no slider).
 */
export function itemAt(items: readonly MediaItem[], step: number | null): MediaItem | null {
  if (items.length === 0) {
    return null;
  }
  if (step === null) {
    return items[items.length - 1];
  }
  let found: MediaItem | null = null;
  for (const item of items) {
    if (stepOrder(item) <= step) {
      found = item;
    } else {
      break;
    }
  }
  return found ?? items[0];
}

/** How a column's values compare: as numbers (ints, floats, bools) or as text. */
function numericDtype(dtype: string): boolean {
  return /^(u?int|float|double|decimal|bool|number)/i.test(dtype.trim());
}

/** A cell as a number for sorting; NaN for what is not one (null, "NaN", text). */
function asNumber(value: unknown): number {
  if (typeof value === 'number') {
    return value;
  }
  if (typeof value === 'boolean') {
    return value ? 1 : 0;
  }
  if (typeof value === 'string' && value.trim() !== '') {
    return Number(value);
  }
  return NaN;
}

/** A cell as text for sorting. */
function asText(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Text by Unicode code point, as the server orders text (so "B" before "a", "a10" before "a2"). */
function compareText(x: string, y: string): number {
  const a = Array.from(x);
  const b = Array.from(y);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = (a[i].codePointAt(0) ?? 0) - (b[i].codePointAt(0) ?? 0);
    if (order !== 0) {
      return order;
    }
  }
  return a.length - b.length;
}

/** Whether a cell counts as missing (sorted last whichever the direction). */
function missing(value: unknown, numeric: boolean): boolean {
  return value === null || value === undefined || (numeric && Number.isNaN(asNumber(value)));
}

/**
 * The rows sorted on column `index` (numbers by value for numeric dtypes, text by code point
 * otherwise, as the server sorts a whole table), missing values last in both directions; ties keep
 * their order. Returns a new array.
 */
export function sortRows(rows: readonly unknown[][], index: number, dtype: string, descending: boolean): unknown[][] {
  const numeric = numericDtype(dtype);
  const sign = descending ? -1 : 1;
  return rows
    .map((row, position) => ({ row, position }))
    .sort((a, b) => {
      const x = a.row[index];
      const y = b.row[index];
      const xMissing = missing(x, numeric);
      const yMissing = missing(y, numeric);
      if (xMissing || yMissing) {
        return xMissing === yMissing ? a.position - b.position : xMissing ? 1 : -1;
      }
      const order = numeric ? asNumber(x) - asNumber(y) : compareText(asText(x), asText(y));
      return order !== 0 ? sign * order : a.position - b.position;
    })
    .map(({ row }) => row);
}

/** Whether a text is long enough to show collapsed first: many lines or many characters. */
export function isLongText(text: string, maxLines = 20, maxChars = 2000): boolean {
  if (text.length > maxChars) {
    return true;
  }
  let lines = 1;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === 10 && ++lines > maxLines) {
      return true;
    }
  }
  return false;
}

/** The start of a long text, cut at a line break within the limits of isLongText (never inside a surrogate pair). */
export function textPreview(text: string, maxLines = 20, maxChars = 2000): string {
  let end = Math.min(text.length, maxChars);
  let lines = 1;
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10 && ++lines > maxLines) {
      end = i;
      break;
    }
  }
  const last = text.charCodeAt(end - 1);
  if (end < text.length && last >= 0xd800 && last <= 0xdbff) {
    end -= 1; // a high surrogate whose low half would be cut off
  }
  return text.slice(0, end);
}
