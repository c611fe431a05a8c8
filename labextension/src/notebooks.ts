import { JupyterFrontEnd } from '@jupyterlab/application';
import { PageConfig, PathExt } from '@jupyterlab/coreutils';
import { INotebookTracker } from '@jupyterlab/notebook';

import { NbmlopsModel } from './model';
import { RunDetail } from './types';

/** Folder (under the server root) where executed notebooks of runs are written to be opened. */
export const EXECUTED_FOLDER = 'nbmlops-executed';

/** The artifact paths a run's notebooks are stored under, best first. */
export const NOTEBOOK_ARTIFACTS = ['notebook/executed.ipynb', 'notebook/source.ipynb'];

/** `path` relative to the server root, or null when it lies outside it. */
export function relativeToRoot(path: string, root = PageConfig.getOption('serverRoot')): string | null {
  if (!path.startsWith('/')) {
    return path;
  }
  const base = root.replace(/\/+$/, '');
  if (base && path.startsWith(base + '/')) {
    return path.slice(base.length + 1);
  }
  return null;
}

/** A file name for a run's notebook copy: the run name made safe, plus the id's first 8 characters. */
export function copyName(run: RunDetail): string {
  const stem = (run.name || 'run').replace(/[^\p{L}\p{N}._-]+/gu, '_').slice(0, 60);
  return `${stem}-${run.run_id.slice(0, 8)}.ipynb`;
}

/** The tag holding the id of the Jupyter kernel a run was tracked in (nbmlops/provenance.py). */
export const KERNEL_TAG = 'jupyter.kernel';

/** Whether `path` exists on the server. */
async function exists(app: JupyterFrontEnd, path: string): Promise<boolean> {
  try {
    await app.serviceManager.contents.get(path, { content: false });
    return true;
  } catch {
    return false;
  }
}

/**
 * The current path of the notebook whose kernel is `kernelId`, if that kernel still lives: first a
 * notebook open in this JupyterLab (it knows its path after any rename), then the server's sessions.
 */
async function livePath(
  app: JupyterFrontEnd,
  kernelId: string,
  notebooks: INotebookTracker | null
): Promise<string | null> {
  const open = notebooks?.find(panel => panel.sessionContext.session?.kernel?.id === kernelId);
  if (open) {
    return open.context.path;
  }
  const sessions = app.serviceManager.sessions;
  await sessions.refreshRunning();
  for (const session of sessions.running()) {
    if (session.kernel?.id === kernelId && session.type === 'notebook' && (await exists(app, session.path))) {
      return session.path;
    }
  }
  return null;
}

/**
 * Open a run's notebook: for a run tracked in a notebook whose kernel still runs, that notebook
 * where it is now (even if renamed since); else the executed copy stored with the run (written to
 * EXECUTED_FOLDER so it can be opened and read); else the notebook the run came from when it is
 * still there. Resolves to the path opened; rejects with a message saying why nothing was opened.
 */
export async function openRunNotebook(
  app: JupyterFrontEnd,
  model: NbmlopsModel,
  runId: string,
  notebooks: INotebookTracker | null = null
): Promise<string> {
  const run = await model.run(runId);
  const contents = app.serviceManager.contents;
  const kernel = run.tags[KERNEL_TAG];
  let path: string | null = kernel ? await livePath(app, kernel, notebooks) : null;
  const stored = NOTEBOOK_ARTIFACTS.find(artifact => run.artifacts.some(a => a.path === artifact));
  if (path === null && stored) {
    const content: unknown = JSON.parse(await (await model.artifact(run.run_id, stored)).text());
    try {
      await contents.get(EXECUTED_FOLDER, { content: false });
    } catch {
      await contents.save(EXECUTED_FOLDER, { type: 'directory' });
    }
    path = PathExt.join(EXECUTED_FOLDER, copyName(run));
    await contents.save(path, { type: 'notebook', format: 'json', content });
  } else if (path === null && run.notebook) {
    path = relativeToRoot(run.notebook);
    if (path === null) {
      throw new Error(`the run's notebook ${run.notebook} is outside the folder Jupyter serves`);
    }
    if (!(await exists(app, path))) {
      throw new Error(
        `the run's notebook ${path} is not there any more (renamed, moved or deleted since the run, ` +
          'and its kernel has stopped): open it from the file browser'
      );
    }
  }
  if (path === null) {
    throw new Error('this run has no notebook: it was not started from a notebook or by `nbmlops run`');
  }
  await app.commands.execute('docmanager:open', { path, factory: 'Notebook' });
  return path;
}
