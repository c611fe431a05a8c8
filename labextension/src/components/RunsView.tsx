import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { NbmlopsModel } from '../model';
import { orderByText } from '../runsColumns';
import { RunsQuery } from '../runsQuery';
import { Actions } from '../types';
import { ColumnChooser } from './ColumnChooser';
import { EmptyState, ErrorLine, useTick } from './common';
import { FilterBox } from './FilterBox';
import { RunsTable } from './RunsTable';

export interface RunsViewProps {
  model: NbmlopsModel;
  trans: TranslationBundle;
  actions: Actions;
  experiments: string[] | null;
  /** Rows per request (tests use small blocks); default RunsQuery's. */
  blockSize?: number;
}

/** Re-render whenever the query changes. */
function useQueryChanged(query: RunsQuery): void {
  const [, setVersion] = React.useState(0);
  React.useEffect(() => {
    const bump = (): void => setVersion(v => v + 1);
    query.changed.connect(bump);
    return () => {
      query.changed.disconnect(bump);
    };
  }, [query]);
}

/**
 * The runs of one experiment (or all): a virtualized, sortable table with a `where` filter, a
 * column chooser, selection for comparing, and live status of running runs.
 */
export function RunsView(props: RunsViewProps): React.ReactElement {
  const { model, trans, actions, experiments, blockSize } = props;
  const scope = JSON.stringify(experiments);
  // Rebuilt when the experiments change in value (scope), not on each new array of the same names.
  const query = React.useMemo(
    () => new RunsQuery({ model, experiments: JSON.parse(scope) as string[] | null, blockSize }),
    [model, scope, blockSize]
  );
  React.useEffect(() => {
    void query.start();
    return () => query.dispose();
  }, [query]);
  useQueryChanged(query);
  const root = React.useRef<HTMLDivElement>(null);
  // Only a view on screen re-fetches: a tab behind another one waits until it is shown again.
  useTick(model, () => {
    if (root.current && !root.current.closest('.lm-mod-hidden')) {
      void query.refresh();
    }
  });

  const selection = query.selection;
  const columns = query.columns;
  const filtered = query.where !== '';

  let content: React.ReactNode;
  if (!query.loaded) {
    content = query.error ? null : (
      <p className="jp-nbmlops-muted jp-nbmlops-runs-loading">{trans.__('Loading runs…')}</p>
    );
  } else if (query.total === 0 && filtered) {
    content = (
      <EmptyState
        title={trans.__('No runs match this filter')}
        hint={
          <>
            <code>{query.where}</code>{' '}
            <button className="jp-nbmlops-link" onClick={() => void query.setWhere('')}>
              {trans.__('Clear the filter')}
            </button>{' '}
            {trans.__('(or press Escape in the filter box) to see all runs.')}
          </>
        }
      />
    );
  } else if (query.total === 0) {
    content = (
      <EmptyState
        title={trans.__('No runs yet: add %1 to a cell', '%%track')}
        hint={trans.__(
          'Run %1 once, then start a cell with %2 and execute it (or run %3 in a terminal): the run appears here within seconds.',
          '%load_ext nbmlops',
          '%%track',
          'nbmlops run notebook.ipynb'
        )}
      />
    );
  } else {
    content = (
      <RunsTable
        query={query}
        columns={columns}
        trans={trans}
        resetKey={`${query.where}\n${orderByText(query.order)}`}
        onOpen={run => actions.openRun(run.run_id)}
      />
    );
  }

  return (
    <div className="jp-nbmlops-runs" ref={root}>
      <div className="jp-nbmlops-runs-toolbar">
        <FilterBox
          where={query.where}
          error={query.filterError}
          busy={query.busy}
          trans={trans}
          onApply={text => query.setWhere(text)}
        />
        <ColumnChooser
          keys={query.keys}
          chosen={query.chosenColumns()}
          trans={trans}
          onToggle={id => query.toggleColumn(id)}
          onSet={ids => query.setColumns(ids)}
          onReset={() => query.resetColumns()}
        />
        <div className="jp-nbmlops-runs-summary" aria-live="polite">
          {query.loaded
            ? filtered
              ? trans._n('%1 matching run', '%1 matching runs', query.total)
              : trans._n('%1 run', '%1 runs', query.total)
            : ''}
          {selection.length > 0 ? (
            <span className="jp-nbmlops-runs-selected"> · {trans.__('%1 selected', selection.length)}</span>
          ) : null}
        </div>
        {selection.length > 0 ? (
          <button className="jp-mod-styled jp-nbmlops-runs-button" onClick={() => query.clearSelection()}>
            {trans.__('Clear selection')}
          </button>
        ) : null}
        <button
          className="jp-mod-styled jp-mod-accept jp-nbmlops-runs-button"
          disabled={selection.length < 2}
          title={
            selection.length < 2
              ? trans.__('Select two or more runs to compare them')
              : trans.__('Compare the %1 selected runs', selection.length)
          }
          onClick={() => actions.compare(selection)}
        >
          {trans.__('Compare')}
        </button>
      </div>
      <ErrorLine error={query.error} />
      <div className="jp-nbmlops-runs-content">{content}</div>
    </div>
  );
}
