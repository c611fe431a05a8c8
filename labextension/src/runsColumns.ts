// The runs table's columns: which exist, how the server's languages name them, and a run's value in one.
import { RunRecord } from './types';

/** Where a column's value comes from: a run attribute, or one key of its params, metrics or tags. */
export type ColumnKind = 'attribute' | 'params' | 'metrics' | 'tags';

/** One table column; `id` is how the server names it (`status`, `params.C`, `metrics.val loss`). */
export interface Column {
  id: string;
  kind: ColumnKind;
  key: string;
}

/** The server-side order of the table: a column and a direction. */
export interface SortOrder {
  column: string;
  descending: boolean;
}

/** The attributes always shown, in order (plus `experiment` after the name when several are shown). */
export const ATTRIBUTE_COLUMNS: Column[] = ['status', 'name', 'start_time', 'duration', 'notebook'].map(key => ({
  id: key,
  kind: 'attribute',
  key
}));

/** The server's order when none is asked for (newest first). */
export const DEFAULT_ORDER: SortOrder = { column: 'start_time', descending: true };

export const KEY_KINDS: Exclude<ColumnKind, 'attribute'>[] = ['params', 'metrics', 'tags'];

/** The column of `kind.key`. */
export function keyColumn(kind: Exclude<ColumnKind, 'attribute'>, key: string): Column {
  return { id: `${kind}.${key}`, kind, key };
}

/** The column named by `id` (`status`, `params.C`, ...). */
export function columnOf(id: string): Column {
  for (const kind of KEY_KINDS) {
    if (id.startsWith(kind + '.')) {
      return keyColumn(kind, id.slice(kind.length + 1));
    }
  }
  return { id, kind: 'attribute', key: id };
}

/**
 * How the `where`, `order_by` and gate languages spell `kind.key`: `metrics.acc`, or `metrics.\`val loss\``
 * with any backtick in the key doubled (the server's lexer.spell_key; ASCII word characters here, so a
 * non-ASCII key is quoted where the server would also take it bare).
 */
export function spellKey(kind: string, key: string): string {
  return /^[\w\-/.:]+$/u.test(key) ? `${kind}.${key}` : `${kind}.\`${key.replace(/`/g, '``')}\``;
}

/** How the `where` and `order_by` languages spell a column. */
export function reference(column: Column): string {
  return column.kind === 'attribute' ? column.key : spellKey(column.kind, column.key);
}

/** The server's order_by text for `order`. */
export function orderByText(order: SortOrder): string {
  return `${reference(columnOf(order.column))} ${order.descending ? 'desc' : 'asc'}`;
}

/** A run's value in a column, unformatted. */
export function cellValue(run: RunRecord, column: Column): unknown {
  switch (column.kind) {
    case 'attribute':
      return (run as unknown as Record<string, unknown>)[column.key];
    case 'params':
      return run.params[column.key];
    case 'metrics':
      return run.metrics[column.key];
    case 'tags':
      return run.tags[column.key];
  }
}
