import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { sortRows } from '../media';
import { NbmlopsModel } from '../model';
import { TablePage } from '../types';
import { ErrorLine, formatValue } from './common';

/** Rows asked of the server per page. */
export const TABLE_PAGE_ROWS = 100;

interface Sort {
  index: number;
  descending: boolean;
}

/** A cell as text: JSON's null and the server's non-finite numbers as they are, strings as they are. */
function cellText(value: unknown): string {
  return value === null ? 'null' : formatValue(value);
}

/**
 * A logged table, one page of rows at a time from the server, in a grid whose column headers sort
 * the page shown (ascending, then descending); Previous/Next move between pages.
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
  const [page, setPage] = React.useState<TablePage | null>(null);
  const [error, setError] = React.useState<unknown>(null);
  const [sort, setSort] = React.useState<Sort | null>(null);

  React.useEffect(() => {
    let current = true;
    setError(null);
    model.mediaTable(runId, path, offset, TABLE_PAGE_ROWS).then(
      answer => current && setPage(answer),
      reason => current && setError(reason)
    );
    return () => {
      current = false; // an answer for another page or table is dropped
    };
  }, [model, runId, path, offset]);

  const rows = React.useMemo(() => {
    if (!page) {
      return [];
    }
    const column = sort ? page.columns[sort.index] : undefined;
    return sort && column ? sortRows(page.rows, sort.index, column.dtype, sort.descending) : page.rows;
  }, [page, sort]);

  if (!page) {
    return error ? <ErrorLine error={error} /> : <p className="jp-nbmlops-muted">{trans.__('Loading…')}</p>;
  }
  const total = page.total_rows;
  const last = Math.min(total, offset + page.rows.length);
  return (
    <div className="jp-nbmlops-media-table">
      <ErrorLine error={error} />
      <div className="jp-nbmlops-media-table-wrap">
        <table className="jp-nbmlops-run-table" aria-label={name}>
          <thead>
            <tr>
              {page.columns.map((column, index) => {
                const sorted = sort?.index === index ? sort : null;
                return (
                  <th
                    key={index}
                    scope="col"
                    aria-sort={sorted ? (sorted.descending ? 'descending' : 'ascending') : 'none'}
                    title={`${column.name} (${column.dtype})`}
                  >
                    <button
                      className="jp-nbmlops-link"
                      onClick={() => setSort({ index, descending: sorted ? !sorted.descending : false })}
                    >
                      {column.name}
                      <span aria-hidden="true">{sorted ? (sorted.descending ? ' ▾' : ' ▴') : ''}</span>
                    </button>
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
                (offset + 1).toLocaleString(),
                last.toLocaleString(),
                total.toLocaleString()
              )}
          {sort && total > page.rows.length ? ` ${trans.__('(sorted within this page)')}` : ''}
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
