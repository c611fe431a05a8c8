import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { Column, SortOrder, cellValue } from '../runsColumns';
import { RunsQuery } from '../runsQuery';
import { RunRecord } from '../types';
import { StatusBadge, formatDuration, formatNumber, formatValue } from './common';

/** Height of a row in pixels: fixed, so a row's position is its index times this. */
export const ROW_HEIGHT = 28;
/** Height of the header row in pixels. */
export const HEADER_HEIGHT = 34;
/** Rows rendered above and below the visible ones. */
export const OVERSCAN = 10;
/** The viewport height assumed before the table has been measured (and where layout is not computed). */
const FALLBACK_HEIGHT = 600;
const CHECKBOX_WIDTH = 36;

const WIDTHS: Record<string, number> = {
  status: 96,
  name: 200,
  experiment: 140,
  start_time: 170,
  duration: 96,
  notebook: 170,
  params: 120,
  metrics: 120,
  tags: 140
};

function widthOf(column: Column): number {
  return column.kind === 'attribute' ? (WIDTHS[column.key] ?? 120) : WIDTHS[column.kind];
}

const DATE_FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });

export interface RunsTableProps {
  query: RunsQuery;
  columns: Column[];
  trans: TranslationBundle;
  /** Changes when the rows start over (new filter or order): the table scrolls back to the top. */
  resetKey: string;
  onOpen: (run: RunRecord) => void;
}

/**
 * The runs as an ARIA grid with only the rows in view (plus overscan) in the DOM; rows not loaded
 * yet show a placeholder. Arrow keys move between rows, Space selects, Enter opens.
 */
export function RunsTable(props: RunsTableProps): React.ReactElement {
  const { query, columns, trans, resetKey, onOpen } = props;
  const total = query.total;
  const order = query.order;
  const scroller = React.useRef<HTMLDivElement>(null);
  const body = React.useRef<HTMLDivElement>(null);
  const pendingFocus = React.useRef<number | null>(null);
  const [scrollTop, setScrollTop] = React.useState(0);
  const [height, setHeight] = React.useState(0);
  const [focused, setFocused] = React.useState(0);
  // Status and name are pinned only while scrolled sideways: sticky cells cost paint time otherwise.
  const [scrolledX, setScrolledX] = React.useState(false);

  // Track the viewport's height.
  React.useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) {
      return;
    }
    setHeight(element.clientHeight);
    if (typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(() => setHeight(element.clientHeight));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  // A new filter or order starts at the top.
  React.useEffect(() => {
    if (scroller.current) {
      scroller.current.scrollTop = 0;
    }
    setScrollTop(0);
    setFocused(0);
  }, [resetKey]);

  const viewport = Math.max(ROW_HEIGHT, (height || FALLBACK_HEIGHT) - HEADER_HEIGHT);
  const visibleStart = Math.min(total, Math.floor(scrollTop / ROW_HEIGHT));
  const visibleEnd = Math.min(total, Math.ceil((scrollTop + viewport) / ROW_HEIGHT));
  const first = Math.max(0, visibleStart - OVERSCAN);
  const last = Math.min(total, visibleEnd + OVERSCAN);
  const pageRows = Math.max(1, Math.floor(viewport / ROW_HEIGHT) - 1);

  React.useEffect(() => {
    query.ensureRange(first, last);
  }, [query, first, last]);

  // Move DOM focus to the row keyboard navigation asked for, once it is rendered.
  React.useLayoutEffect(() => {
    const index = pendingFocus.current;
    if (index === null) {
      return;
    }
    const row = body.current?.querySelector<HTMLElement>(`[data-index="${index}"]`);
    if (row) {
      pendingFocus.current = null;
      row.focus({ preventScroll: true });
    }
  });

  const moveTo = (index: number): void => {
    if (total === 0) {
      return;
    }
    const target = Math.max(0, Math.min(total - 1, index));
    let top = scrollTop;
    if (target * ROW_HEIGHT < top) {
      top = target * ROW_HEIGHT;
    } else if ((target + 1) * ROW_HEIGHT > top + viewport) {
      top = (target + 1) * ROW_HEIGHT - viewport;
    }
    if (top !== scrollTop) {
      if (scroller.current) {
        scroller.current.scrollTop = top;
      }
      setScrollTop(top);
    }
    pendingFocus.current = target;
    setFocused(target);
  };

  const onRowKey = (event: React.KeyboardEvent<HTMLDivElement>, index: number, run: RunRecord | undefined): void => {
    const target = event.target as HTMLElement;
    const inControl = target !== event.currentTarget;
    switch (event.key) {
      case 'ArrowDown':
        moveTo(index + 1);
        break;
      case 'ArrowUp':
        moveTo(index - 1);
        break;
      case 'PageDown':
        moveTo(index + pageRows);
        break;
      case 'PageUp':
        moveTo(index - pageRows);
        break;
      case 'Home':
        moveTo(0);
        break;
      case 'End':
        moveTo(total - 1);
        break;
      case ' ':
        if (inControl) {
          return; // the checkbox or button handles its own Space
        }
        query.toggle(index, event.shiftKey);
        break;
      case 'Enter':
        if (inControl || !run) {
          return;
        }
        onOpen(run);
        break;
      default:
        return;
    }
    event.preventDefault();
  };

  const template = [CHECKBOX_WIDTH, ...columns.map(widthOf)].map(w => `${w}px`).join(' ') + ' minmax(0, 1fr)';
  const width = CHECKBOX_WIDTH + columns.reduce((sum, column) => sum + widthOf(column), 0);
  const rowStyle = { gridTemplateColumns: template, minWidth: width };
  const tabbable = focused >= first && focused < last ? focused : visibleStart;

  // The header checkbox: the visible rows that are loaded.
  const visibleIds: string[] = [];
  for (let i = visibleStart; i < visibleEnd; i++) {
    const run = query.rowAt(i);
    if (run) {
      visibleIds.push(run.run_id);
    }
  }
  const selectedVisible = visibleIds.filter(id => query.isSelected(id)).length;
  const allVisible = visibleIds.length > 0 && selectedVisible === visibleIds.length;

  // Rows get stable callbacks that reach the latest render's state, so unchanged rows skip re-rendering.
  const latest = React.useRef({ onRowKey, setFocused, onOpen, query });
  latest.current = { onRowKey, setFocused, onOpen, query };
  const handlers = React.useMemo<RowHandlers>(
    () => ({
      key: (event, index, run) => latest.current.onRowKey(event, index, run),
      focus: index => latest.current.setFocused(index),
      open: run => latest.current.onOpen(run),
      toggle: (index, range) => latest.current.query.toggle(index, range)
    }),
    []
  );

  const rows: React.ReactElement[] = [];
  for (let index = first; index < last; index++) {
    const run = query.rowAt(index);
    rows.push(
      <Row
        key={index}
        index={index}
        run={run}
        selected={run ? query.isSelected(run.run_id) : false}
        tabbable={index === tabbable}
        columns={columns}
        template={template}
        width={width}
        trans={trans}
        handlers={handlers}
      />
    );
  }

  return (
    <div
      ref={scroller}
      className={'jp-nbmlops-runs-scroller' + (scrolledX ? ' jp-mod-scrolled-x' : '')}
      role="grid"
      aria-label={trans.__('Runs')}
      aria-rowcount={total + 1}
      aria-multiselectable={true}
      onScroll={event => {
        setScrollTop(event.currentTarget.scrollTop);
        setScrolledX(event.currentTarget.scrollLeft > 0);
      }}
    >
      <div role="rowgroup" className="jp-nbmlops-runs-head">
        <div role="row" aria-rowindex={1} className="jp-nbmlops-runs-row jp-nbmlops-runs-header" style={rowStyle}>
          <div role="columnheader" className="jp-nbmlops-runs-cell jp-nbmlops-runs-check jp-nbmlops-runs-pinned">
            <HeaderCheckbox
              label={trans.__('Select all visible runs')}
              checked={allVisible}
              indeterminate={selectedVisible > 0 && !allVisible}
              disabled={visibleIds.length === 0}
              onChange={() => query.selectRange(visibleStart, visibleEnd, !allVisible)}
            />
          </div>
          {columns.map(column => (
            <HeaderCell
              key={column.id}
              column={column}
              order={order}
              trans={trans}
              onSort={id => void query.sortBy(id)}
            />
          ))}
        </div>
      </div>
      <div
        ref={body}
        role="rowgroup"
        className="jp-nbmlops-runs-body"
        style={{ height: total * ROW_HEIGHT, minWidth: width }}
      >
        {rows}
      </div>
    </div>
  );
}

interface RowHandlers {
  key: (event: React.KeyboardEvent<HTMLDivElement>, index: number, run: RunRecord | undefined) => void;
  focus: (index: number) => void;
  open: (run: RunRecord) => void;
  toggle: (index: number, range: boolean) => void;
}

interface RowProps {
  index: number;
  /** undefined while the row's block is loading: a placeholder is shown. */
  run: RunRecord | undefined;
  selected: boolean;
  tabbable: boolean;
  columns: Column[];
  template: string;
  width: number;
  trans: TranslationBundle;
  handlers: RowHandlers;
}

const Row = React.memo(function Row(props: RowProps): React.ReactElement {
  const { index, run, selected, tabbable, columns, template, width, trans, handlers } = props;
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      aria-selected={run ? selected : undefined}
      aria-busy={run ? undefined : true}
      data-index={index}
      tabIndex={tabbable ? 0 : -1}
      className={
        'jp-nbmlops-runs-row' +
        (run ? '' : ' jp-nbmlops-runs-row-loading') +
        (selected ? ' jp-mod-selected' : '') +
        (index % 2 ? ' jp-nbmlops-runs-row-odd' : '')
      }
      style={{ gridTemplateColumns: template, minWidth: width, top: index * ROW_HEIGHT, height: ROW_HEIGHT }}
      onFocus={event => {
        if (event.target === event.currentTarget) {
          handlers.focus(index);
        }
      }}
      onKeyDown={event => handlers.key(event, index, run)}
      onDoubleClick={event => {
        if (run && (event.target as HTMLElement).tagName !== 'INPUT') {
          handlers.open(run);
        }
      }}
    >
      {run ? (
        <>
          <div role="gridcell" className="jp-nbmlops-runs-cell jp-nbmlops-runs-check jp-nbmlops-runs-pinned">
            <input
              type="checkbox"
              tabIndex={-1}
              aria-label={trans.__('Select run %1', run.name || run.run_id)}
              checked={selected}
              onChange={() => undefined}
              onClick={event => handlers.toggle(index, event.shiftKey)}
            />
          </div>
          {columns.map(column => (
            <Cell key={column.id} run={run} column={column} trans={trans} onOpen={handlers.open} />
          ))}
        </>
      ) : (
        <div role="gridcell" className="jp-nbmlops-runs-cell jp-nbmlops-runs-placeholder">
          <span className="jp-nbmlops-runs-placeholder-bar">{trans.__('Loading…')}</span>
        </div>
      )}
    </div>
  );
});

function HeaderCheckbox(props: {
  label: string;
  checked: boolean;
  indeterminate: boolean;
  disabled: boolean;
  onChange: () => void;
}): React.ReactElement {
  const ref = React.useRef<HTMLInputElement>(null);
  React.useEffect(() => {
    if (ref.current) {
      ref.current.indeterminate = props.indeterminate;
    }
  }, [props.indeterminate]);
  return (
    <input
      ref={ref}
      type="checkbox"
      aria-label={props.label}
      title={props.label}
      checked={props.checked}
      disabled={props.disabled}
      onChange={props.onChange}
    />
  );
}

/** The header's words for a column: attributes by name, keys with their kind. */
export function columnLabel(column: Column, trans: TranslationBundle): { kind: string | null; name: string } {
  switch (column.kind) {
    case 'attribute': {
      const names: Record<string, string> = {
        status: trans.__('Status'),
        name: trans.__('Name'),
        experiment: trans.__('Experiment'),
        start_time: trans.__('Start'),
        duration: trans.__('Duration'),
        notebook: trans.__('Notebook')
      };
      return { kind: null, name: names[column.key] ?? column.key };
    }
    case 'params':
      return { kind: trans.__('param'), name: column.key };
    case 'metrics':
      return { kind: trans.__('metric'), name: column.key };
    case 'tags':
      return { kind: trans.__('tag'), name: column.key };
  }
}

function HeaderCell(props: {
  column: Column;
  order: SortOrder;
  trans: TranslationBundle;
  onSort: (id: string) => void;
}): React.ReactElement {
  const { column, order, trans, onSort } = props;
  const label = columnLabel(column, trans);
  const sorted = order.column === column.id;
  // aria-sort goes on the sorted header only.
  const direction = sorted ? (order.descending ? 'descending' : 'ascending') : undefined;
  const title = label.kind ? `${label.kind} ${label.name}` : label.name;
  return (
    <div
      role="columnheader"
      aria-sort={direction}
      className={`jp-nbmlops-runs-cell jp-nbmlops-runs-colhead${pinnedClass(column)}`}
    >
      <button
        className="jp-nbmlops-runs-sort"
        title={
          sorted && !order.descending
            ? trans.__('Sorted by %1, ascending: click to sort descending', title)
            : trans.__('Sort by %1', title)
        }
        onClick={() => onSort(column.id)}
      >
        {label.kind ? <span className="jp-nbmlops-runs-colkind">{label.kind}</span> : null}
        <span className="jp-nbmlops-runs-colname">{label.name}</span>
        <span className="jp-nbmlops-runs-sortmark" aria-hidden="true">
          {sorted ? (order.descending ? '▼' : '▲') : ''}
        </span>
      </button>
    </div>
  );
}

/** Status and name stay in view when scrolling sideways (offsets in runs.css follow WIDTHS). */
function pinnedClass(column: Column): string {
  return column.kind === 'attribute' && (column.key === 'status' || column.key === 'name')
    ? ` jp-nbmlops-runs-pinned jp-nbmlops-runs-pinned-${column.key}`
    : '';
}

function basename(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}

function Cell(props: {
  run: RunRecord;
  column: Column;
  trans: TranslationBundle;
  onOpen: (run: RunRecord) => void;
}): React.ReactElement {
  const { run, column, trans, onOpen } = props;
  let content: React.ReactNode;
  let title: string | undefined;
  let numeric = false;
  if (column.kind === 'attribute') {
    switch (column.key) {
      case 'status':
        content = <StatusBadge status={run.status} />;
        break;
      case 'name':
        content = (
          <button
            className="jp-nbmlops-runs-name"
            tabIndex={-1}
            title={trans.__('Open run %1 (%2)', run.name, run.run_id)}
            onClick={() => onOpen(run)}
          >
            {run.name || run.run_id.slice(0, 8)}
          </button>
        );
        break;
      case 'start_time':
        content = run.start_time ? DATE_FORMAT.format(new Date(run.start_time)) : '';
        title = run.start_time;
        break;
      case 'duration':
        content = formatDuration(run.duration);
        numeric = true;
        break;
      case 'notebook':
        content = run.notebook ? basename(run.notebook) : '';
        title = run.notebook ?? undefined;
        break;
      default:
        content = formatValue(cellValue(run, column));
        title = typeof content === 'string' ? content : undefined;
    }
  } else {
    const value = cellValue(run, column);
    numeric = typeof value === 'number';
    content = numeric ? formatNumber(value as number) : formatValue(value);
    title = numeric ? String(value) : (content as string) || undefined;
  }
  return (
    <div
      role="gridcell"
      className={'jp-nbmlops-runs-cell' + (numeric ? ' jp-nbmlops-runs-number' : '') + pinnedClass(column)}
      title={title}
    >
      {content}
    </div>
  );
}
