/**
 * "Open notebook" on a run made by `nbmlops run`: the executed notebook stored with the run (its
 * outputs and the parameters papermill injected) is written next to the user's files and opened.
 */
import { expect, test } from '@jupyterlab/galata';

import { execute, nbmlops, python } from './helpers';

test.use({ autoGoto: true });
test.setTimeout(120_000);

test('Open notebook shows the executed notebook of an nbmlops run job', async ({ page, tmpPath }) => {
  const source = python(`
import nbformat, tempfile, os
nb = nbformat.v4.new_notebook()
nb.cells = [nbformat.v4.new_code_cell("alpha = 1", metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell("print('alpha is', alpha)")]
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
path = os.path.join(tempfile.mkdtemp(prefix="nbmlops-ui-job-"), "job.ipynb")
nbformat.write(nb, path)
print(path)
`).trim();
  const output = nbmlops('run', source, '-e', 'ui-jobs', '-p', 'alpha', '7');
  const runId = /\(([0-9a-f]{32})\)/.exec(output)?.[1] as string;
  expect(runId).toBeTruthy();

  await execute(page, 'nbmlops:open-run', { runId });
  const run = page.locator('.jp-nbmlops-RunDetailView');
  await run.getByRole('button', { name: 'Open notebook' }).click();
  const tab = page.getByRole('tab', { name: new RegExp(`job-${runId.slice(0, 8)}\\.ipynb`) });
  await expect(tab).toBeVisible();
  const notebook = page.locator('.jp-NotebookPanel:visible');
  await expect(notebook).toContainText('alpha is 7');
  await expect(notebook).toContainText('alpha = 7'); // papermill's injected parameters cell
});
