import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, showErrorMessage } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { nbmlopsIcon } from './icon';
import { NbmlopsModel } from './model';
import { openRunNotebook } from './notebooks';
import { Actions } from './types';
import {
  createCompareView,
  createModelsView,
  createRunsView,
  createRunView,
  createSidebar,
  ViewContext
} from './views';

/** The command ids; the palette lists the ones that need no arguments. */
export const CommandIDs = {
  showExperiments: 'nbmlops:show-experiments',
  openRuns: 'nbmlops:open-runs',
  openRun: 'nbmlops:open-run',
  compare: 'nbmlops:compare',
  openModels: 'nbmlops:open-models',
  openNotebook: 'nbmlops:open-notebook',
  refresh: 'nbmlops:refresh'
} as const;

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nbmlops:plugin',
  description: 'Experiments, runs, comparisons and the model registry of the nbmlops store.',
  autoStart: true,
  optional: [ICommandPalette, ITranslator, ILayoutRestorer, ILauncher, INotebookTracker, IRenderMimeRegistry],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null,
    launcher: ILauncher | null,
    notebooks: INotebookTracker | null,
    rendermime: IRenderMimeRegistry | null
  ) => {
    const trans = (translator ?? nullTranslator).load('nbmlops');
    const model = new NbmlopsModel();
    const open = new Map<string, MainAreaWidget>();
    const { commands, shell } = app;

    const show = (widget: MainAreaWidget): void => {
      const existing = open.get(widget.id);
      if (existing && !existing.isDisposed) {
        widget.dispose();
        shell.activateById(existing.id);
        return;
      }
      open.set(widget.id, widget);
      widget.disposed.connect(() => open.delete(widget.id));
      shell.add(widget, 'main');
      shell.activateById(widget.id);
    };

    const actions: Actions = {
      openRuns: experiment => void commands.execute(CommandIDs.openRuns, { experiment }),
      openRun: runId => void commands.execute(CommandIDs.openRun, { runId }),
      compare: runIds => void commands.execute(CommandIDs.compare, { runIds }),
      openModels: name => void commands.execute(CommandIDs.openModels, { name: name ?? null }),
      openNotebook: runId => void commands.execute(CommandIDs.openNotebook, { runId })
    };
    const context: ViewContext = { model, trans, actions, rendermime };

    const sidebar = createSidebar(context);
    shell.add(sidebar, 'left', { rank: 650 });
    restorer?.add(sidebar, sidebar.id);

    commands.addCommand(CommandIDs.showExperiments, {
      label: trans.__('Show Experiments'),
      caption: trans.__('Show the nbmlops experiments sidebar'),
      icon: nbmlopsIcon,
      execute: () => shell.activateById(sidebar.id)
    });
    commands.addCommand(CommandIDs.openRuns, {
      label: args => (args.experiment ? trans.__('Open Runs of %1', args.experiment) : trans.__('Open All Runs')),
      caption: trans.__('Open the runs table'),
      icon: nbmlopsIcon,
      execute: args => show(createRunsView(context, typeof args.experiment === 'string' ? args.experiment : null))
    });
    commands.addCommand(CommandIDs.openRun, {
      label: trans.__('Open Run'),
      execute: args => {
        const runId = args.runId as string;
        const widget = createRunView(context, runId, args.name ? (args.name as string) : undefined);
        show(widget);
        if (!args.name && !widget.isDisposed) {
          // The tab shows the id until the run's name is known.
          model.run(runId).then(
            run => (widget.title.label = trans.__('Run %1', run.name)),
            () => undefined
          );
        }
      }
    });
    commands.addCommand(CommandIDs.compare, {
      label: trans.__('Compare Runs'),
      isEnabled: args => Array.isArray(args.runIds) && args.runIds.length >= 2,
      execute: args => show(createCompareView(context, (args.runIds as string[]).map(String)))
    });
    commands.addCommand(CommandIDs.openModels, {
      label: trans.__('Open Model Registry'),
      caption: trans.__('Registered models, versions, aliases and promotion'),
      icon: nbmlopsIcon,
      execute: args => show(createModelsView(context, typeof args.name === 'string' ? args.name : null))
    });
    commands.addCommand(CommandIDs.openNotebook, {
      label: trans.__('Open Run Notebook'),
      execute: async args => {
        try {
          await openRunNotebook(app, model, args.runId as string, notebooks);
        } catch (error) {
          await showErrorMessage(trans.__('Cannot open the notebook'), (error as Error).message);
        }
      }
    });
    commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Refresh Experiments and Runs'),
      execute: () => model.refresh()
    });

    if (palette) {
      const category = trans.__('nbmlops');
      for (const command of [
        CommandIDs.showExperiments,
        CommandIDs.openRuns,
        CommandIDs.openModels,
        CommandIDs.refresh
      ]) {
        palette.addItem({ command, category });
      }
    }
    if (launcher) {
      const category = trans.__('nbmlops');
      launcher.add({ command: CommandIDs.openRuns, category, rank: 1 });
      launcher.add({ command: CommandIDs.openModels, category, rank: 2 });
    }
    void model.start();
  }
};

export default plugin;
