import { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';
import * as React from 'react';

import { NbmlopsModel } from '../model';
import { Actions } from '../types';
import { EmptyState, ErrorLine, timeAgo, useModelChanged, useTick } from './common';

export interface SidebarProps {
  model: NbmlopsModel;
  trans: TranslationBundle;
  actions: Actions;
}

/** The left sidebar: experiments with run counts, running runs and last activity; refreshed live. */
export function ExperimentsSidebar(props: SidebarProps): React.ReactElement {
  const { model, trans, actions } = props;
  useModelChanged(model);
  const [now, setNow] = React.useState(Date.now());
  useTick(model, () => setNow(Date.now()));
  const experiments = model.experiments;
  const total = experiments.reduce((sum, e) => sum + e.runs, 0);

  return (
    <div className="jp-nbmlops-sidebar">
      <header className="jp-nbmlops-sidebar-header">
        <h2>{trans.__('Experiments')}</h2>
        <ToolbarButtonComponent icon={refreshIcon} tooltip={trans.__('Refresh')} onClick={() => void model.refresh()} />
      </header>
      <ErrorLine error={model.error} />
      {!model.loaded ? (
        <p className="jp-nbmlops-muted">{trans.__('Loading…')}</p>
      ) : experiments.length === 0 && !model.error ? (
        <EmptyState
          title={trans.__('No runs yet')}
          hint={trans.__(
            'Add %1 to a cell (after %2), or run %3.',
            '%%track',
            '%load_ext nbmlops',
            '`nbmlops run notebook.ipynb`'
          )}
        />
      ) : (
        <ul className="jp-nbmlops-experiments" aria-label={trans.__('Experiments')}>
          {experiments.length > 1 ? (
            <li>
              <button className="jp-nbmlops-experiment" onClick={() => actions.openRuns(null)}>
                <span className="jp-nbmlops-experiment-name">{trans.__('All experiments')}</span>
                <span className="jp-nbmlops-experiment-meta">{trans._n('%1 run', '%1 runs', total)}</span>
              </button>
            </li>
          ) : null}
          {experiments.map(experiment => (
            <li key={experiment.name}>
              <button
                className="jp-nbmlops-experiment"
                title={trans.__('Open the runs of %1', experiment.name)}
                onClick={() => actions.openRuns(experiment.name)}
              >
                <span className="jp-nbmlops-experiment-name">{experiment.name}</span>
                <span className="jp-nbmlops-experiment-meta">
                  {trans._n('%1 run', '%1 runs', experiment.runs)}
                  {experiment.running > 0 ? (
                    <span className="jp-nbmlops-status jp-nbmlops-status-running">
                      {trans.__('%1 running', experiment.running)}
                    </span>
                  ) : null}
                  <span className="jp-nbmlops-muted"> · {timeAgo(experiment.last_activity, now)}</span>
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <footer className="jp-nbmlops-sidebar-footer">
        <button className="jp-mod-styled jp-nbmlops-link" onClick={() => actions.openModels(null)}>
          {trans.__('Model registry')}
        </button>
      </footer>
    </div>
  );
}
