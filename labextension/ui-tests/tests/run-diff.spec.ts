/**
 * The Diff of two runs: two `nbmlops run` jobs of a notebook edited between them (one line of code and
 * the parameter alpha), selected in the runs view and compared; the Diff tab shows the changed param
 * with both values and the changed line in nbdime's notebook diff. Named to run after empty.spec.ts
 * (files run in name order on one worker, and that one needs the shared test store empty).
 */
import { expect, test } from '@jupyterlab/galata';

import { execute, nbmlops, python } from './helpers';

const EXPERIMENT = 'ui-diff';

test.use({ autoGoto: true });
test.setTimeout(150_000);

/** A notebook with a parameters cell and a scored line; its path. */
function writeNotebook(scoreLine: string): string {
  return python(`
import nbformat, os, tempfile
nb = nbformat.v4.new_notebook()
nb.cells = [nbformat.v4.new_code_cell("alpha = 0.5", metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell("import nbmlops"),
            nbformat.v4.new_markdown_cell("## Score"),
            nbformat.v4.new_code_cell(${JSON.stringify(scoreLine)} + "\\nnbmlops.log_metric('accuracy', score)")]
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
path = os.path.join(tempfile.mkdtemp(prefix="nbmlops-ui-diff-"), "train.ipynb")
nbformat.write(nb, path)
print(path)
`).trim();
}

test('the Diff tab shows the changed param and the changed line of two jobs of an edited notebook', async ({
  page
}) => {
  nbmlops('run', writeNotebook('score = alpha * 2'), '-e', EXPERIMENT, '--name', 'before');
  nbmlops('run', writeNotebook('score = alpha * 3'), '-e', EXPERIMENT, '--name', 'after', '-p', 'alpha', '0.25');

  await execute(page, 'nbmlops:open-runs', { experiment: EXPERIMENT });
  const view = page.locator('.jp-nbmlops-RunsView');
  await view.getByRole('checkbox', { name: 'Select run before' }).check();
  await view.getByRole('checkbox', { name: 'Select run after' }).check();
  await view.getByRole('button', { name: /^Compare/ }).click();

  const compare = page.locator('.jp-nbmlops-CompareView');
  await compare.getByRole('tab', { name: 'Diff' }).click();
  const diff = compare.getByRole('tabpanel', { name: 'Diff' });

  const params = diff.getByRole('table', { name: 'Parameter changes' });
  const alpha = params.getByRole('row', { name: /alpha/ });
  await expect(alpha.getByRole('cell')).toHaveText(['changed', '0.5', '0.25']);

  const metrics = diff.getByRole('table', { name: 'Metric changes' });
  await expect(metrics.getByRole('row', { name: /accuracy/ })).toContainText('worse');

  // nbdime's view: A's cell on one side, B's on the other, the edited line marked on both.
  const notebook = diff.getByRole('region', { name: 'Notebook diff (nbdime)' });
  await expect(notebook).toContainText('score = alpha * 3');
  await expect(notebook).toContainText('score = alpha * 2');
  await expect(notebook.locator('[class*="-inserted"]').first()).toHaveText('3');
  await expect(notebook.locator('[class*="-deleted"]').first()).toHaveText('2');
  await expect(diff).toContainText('A on the left, B on the right: cell 4 (code)');

  await diff.getByRole('checkbox', { name: 'Unified diff' }).check();
  await expect(diff.getByText('+score = alpha * 3')).toBeVisible();
  await expect(diff.getByText('-score = alpha * 2')).toBeVisible();
});
