import { MainAreaWidget, ReactWidget } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { CompareView } from './components/CompareView';
import { ModelsView } from './components/ModelsView';
import { RunDetailView } from './components/RunDetailView';
import { RunsView } from './components/RunsView';
import { ExperimentsSidebar } from './components/Sidebar';
import { nbmlopsIcon } from './icon';
import { NbmlopsModel } from './model';
import { Actions } from './types';

/** What every view is built from. */
export interface ViewContext {
  model: NbmlopsModel;
  trans: TranslationBundle;
  actions: Actions;
  /** JupyterLab's renderers (nbdime's notebook diff draws markdown with them); null outside JupyterLab. */
  rendermime?: IRenderMimeRegistry | null;
}

/** The left sidebar "Experiments". */
export function createSidebar(context: ViewContext): ReactWidget {
  const widget = ReactWidget.create(<ExperimentsSidebar {...context} />);
  widget.id = 'nbmlops-sidebar';
  widget.title.icon = nbmlopsIcon;
  widget.title.caption = context.trans.__('Experiments');
  widget.addClass('jp-nbmlops-Sidebar');
  return widget;
}

function mainArea(id: string, label: string, content: React.ReactElement, className: string): MainAreaWidget {
  const body = ReactWidget.create(content);
  body.addClass(className);
  const widget = new MainAreaWidget({ content: body });
  widget.id = id;
  widget.title.label = label;
  widget.title.caption = label;
  widget.title.icon = nbmlopsIcon;
  widget.title.closable = true;
  widget.addClass('jp-nbmlops-View');
  return widget;
}

/** A short stable id for a list of run ids (widget ids must stay small). */
export function idOf(parts: string[]): string {
  let hash = 0;
  for (const char of parts.join(',')) {
    hash = (Math.imul(hash, 31) + char.charCodeAt(0)) | 0;
  }
  return (hash >>> 0).toString(36);
}

/** The runs view of one experiment, or of all of them. */
export function createRunsView(context: ViewContext, experiment: string | null): MainAreaWidget {
  const { trans } = context;
  const label = experiment === null ? trans.__('Runs: all experiments') : trans.__('Runs: %1', experiment);
  return mainArea(
    `nbmlops-runs-${experiment === null ? '*' : idOf([experiment])}`,
    label,
    <RunsView {...context} experiments={experiment === null ? null : [experiment]} />,
    'jp-nbmlops-RunsView'
  );
}

/** The compare view of two or more runs. */
export function createCompareView(context: ViewContext, runIds: string[]): MainAreaWidget {
  return mainArea(
    `nbmlops-compare-${idOf(runIds)}`,
    context.trans.__('Compare %1 runs', runIds.length),
    <CompareView {...context} runIds={runIds} />,
    'jp-nbmlops-CompareView'
  );
}

/** One run's detail view. */
export function createRunView(context: ViewContext, runId: string, name?: string): MainAreaWidget {
  return mainArea(
    `nbmlops-run-${runId}`,
    context.trans.__('Run %1', name || runId.slice(0, 8)),
    <RunDetailView {...context} runId={runId} />,
    'jp-nbmlops-RunDetailView'
  );
}

/** The model registry view. */
export function createModelsView(context: ViewContext, name: string | null): MainAreaWidget {
  return mainArea(
    'nbmlops-models',
    context.trans.__('Models'),
    <ModelsView {...context} name={name} />,
    'jp-nbmlops-ModelsView'
  );
}
