import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { ApiError } from '../api';
import { sortRows } from '../media';
import { NbmlopsModel, TableSort } from '../model';
import { TablePage } from '../types';
import { ErrorLine, formatValue } from './common';

/** Rows asked of the server per page. */
export const TABLE_PAGE_ROWS = 100;

/** A page the server answered, with the request it answers. */
interface Shown {
  page: TablePage;
  offset: number;
  sort: TableSort | null;
}

/** A cell as text: JSON's null and the server's non-finite numbers as they are, strings as they are. */
function cellText(value: unknown): string {
  return value === null ? 'null' : formatValue(value);
}

/** Whether two orders are the same (no order equals no order). */
function sameSort(a: TableSort | null, b: TableSort | null): boolean {
  return a === b || (a !== null && b !== null && a.column === b.column && a.descending === b.descending);
}

/**
 * A logged table, one page of rows at a time from the server, in a grid whose column headers sort
 * the whole table on the server (ascending, then descending) and show its first page; Previous/Next
 * move between pages of that order. Until the sorted page arrives, the page on screen is sorted in place.
 */
export function TablePreview(props: {
  model: NbmlopsModel;
  trans: TranslationBundle;
  runId: string;
  name: string;
  path: string;
}): React.ReactElement {
  const { model, trans, runId, name, path } = props;
  const [offset, setOffset] = React.useState(0);
  const [sort, setSort] = React.useState<TableSort | null>(null);
  const [shown, setShown] = React.useState<Shown | null>(null);
  const [error, setError] = React.useState<unknown>(null);

  React.useEffect(() => {
    let current = true;
    setError(null);
    model.mediaTable(runId, path, offset, TABLE_PAGE_ROWS, sort).then(
      page => current && setShown({ page, offset, sort }),
      reason => {
        if (!current) {
          return;
        }
        if (sort && reason instanceof ApiError && reason.status === 400) {
          // the order chosen on another step's table names a column this one lacks: show it in its own order
          setSort(null);
          setOffset(0);
        } else {
          setError(reason);
        }
      }
    );
    return () => {
      current = false; // an answer for another page, order or table is dropped
    };
  }, [model, runId, path, offset, sort]);

  const loading = shown !== null && !error && (shown.offset !== offset || !sameSort(shown.sort, sort));
  const rows = React.useMemo(() => {
    if (!shown) {
      return [];
    }
    const { page } = shown;
    const index = sort ? page.columns.findIndex(column => column.name === sort.column) : -1;
    return sort && index >= 0 && !sameSort(shown.sort, sort)
      ? sortRows(page.rows, index, page.columns[index].dtype, sort.descending)
      : page.rows;
  }, [shown, sort]);

  if (!shown) {
    return error ? <ErrorLine error={error} /> : <p className="jp-nbmlops-muted">{trans.__('Loading…')}</p>;
  }
  const { page } = shown;
  const total = page.total_rows;
  const last = Math.min(total, shown.offset + page.rows.length);
  const choose = (column: string): void => {
    setSort({ column, descending: sort?.column === column ? !sort.descending : false });
    setOffset(0); // a new order starts at its first rows
  };
  return (
    <div className="jp-nbmlops-media-table">
      <ErrorLine error={error} />
      <div className="jp-nbmlops-media-table-wrap">
        <table className="jp-nbmlops-run-table" aria-label={name} aria-busy={loading}>
          <thead>
            <tr>
              {page.columns.map((column, index) => {
                const sorted = sort?.column === column.name ? sort : null;
                return (
                  <th
                    key={index}
                    scope="col"
                    aria-sort={sorted ? (sorted.descending ? 'descending' : 'ascending') : 'none'}
                    title={`${column.name} (${column.dtype})`}
                  >
                    {column.name === '' ? null : ( // a name the server cannot be asked to sort on
                      <button className="jp-nbmlops-link" onClick={() => choose(column.name)}>
                        {column.name}
                        <span aria-hidden="true">{sorted ? (sorted.descending ? ' ▾' : ' ▴') : ''}</span>
                      </button>
                    )}
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, r) => (
              <tr key={r}>
                {page.columns.map((_column, c) => (
                  <td key={c}>{cellText(row[c])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="jp-nbmlops-media-pager">
        <span className="jp-nbmlops-muted">
          {total === 0
            ? trans.__('No rows.')
            : trans.__(
                'Rows %1–%2 of %3',
                (shown.offset + 1).toLocaleString(),
                last.toLocaleString(),
                total.toLocaleString()
              )}
          {loading ? ` ${trans.__('(loading…)')}` : ''}
        </span>
        {total > TABLE_PAGE_ROWS ? (
          <>
            <button
              className="jp-mod-styled"
              disabled={offset === 0}
              onClick={() => setOffset(Math.max(0, offset - TABLE_PAGE_ROWS))}
            >
              {trans.__('Previous rows')}
            </button>
            <button
              className="jp-mod-styled"
              disabled={offset + TABLE_PAGE_ROWS >= total}
              onClick={() => setOffset(offset + TABLE_PAGE_ROWS)}
            >
              {trans.__('Next rows')}
            </button>
          </>
        ) : null}
      </div>
    </div>
  );
}
