import { JupyterFrontEnd } from '@jupyterlab/application';
import { PageConfig, PathExt } from '@jupyterlab/coreutils';

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

/**
 * Open a run's notebook: the executed copy stored with the run (written to EXECUTED_FOLDER so it
 * can be opened and read), else the notebook the run came from when it is under the server root.
 * Resolves to the path opened; rejects with a message saying why nothing could be opened.
 */
export async function openRunNotebook(app: JupyterFrontEnd, model: NbmlopsModel, runId: string): Promise<string> {
  const run = await model.run(runId);
  const stored = NOTEBOOK_ARTIFACTS.find(path => run.artifacts.some(a => a.path === path));
  const contents = app.serviceManager.contents;
  let path: string | null = null;
  if (stored) {
    const content = JSON.parse(await (await model.artifact(run.run_id, stored)).text());
    try {
      await contents.get(EXECUTED_FOLDER, { content: false });
    } catch {
      await contents.save(EXECUTED_FOLDER, { type: 'directory' });
    }
    path = PathExt.join(EXECUTED_FOLDER, copyName(run));
    await contents.save(path, { type: 'notebook', format: 'json', content });
  } else if (run.notebook) {
    path = relativeToRoot(run.notebook);
    if (path === null) {
      throw new Error(`the run's notebook ${run.notebook} is outside the folder Jupyter serves`);
    }
  }
  if (path === null) {
    throw new Error('this run has no notebook: it was not started from a notebook or by `nbmlops run`');
  }
  await app.commands.execute('docmanager:open', { path, factory: 'Notebook' });
  return path;
}
