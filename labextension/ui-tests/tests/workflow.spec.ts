/**
 * The panel's main workflow against a real kernel and the test store: a `%%track` cell runs twice
 * with different params, both runs show in the panel, they are compared, a model version is
 * promoted through the dialog, and the alias has moved in the store.
 */
import { expect, test } from '@jupyterlab/galata';

import { execute, nbmlopsJson, openExperiments } from './helpers';

const EXPERIMENT = 'ui-workflow';
const SETUP = [
  '%load_ext nbmlops',
  'import nbmlops',
  'from sklearn.datasets import make_classification',
  'from sklearn.linear_model import LogisticRegression',
  'X, y = make_classification(n_samples=300, n_features=8, random_state=0)'
].join('\n');
const TRACKED = [
  `%%track -e ${EXPERIMENT} -n c-{C} --model clf:clf`,
  'clf = LogisticRegression(C=C, max_iter=300).fit(X, y)',
  'nbmlops.log_metric("accuracy", clf.score(X, y))'
].join('\n');

test.use({ autoGoto: true });
test.setTimeout(150_000);

test('track twice, compare, promote', async ({ page }) => {
  await test.step('execute a notebook whose %%track cell runs with two values of C', async () => {
    await page.notebook.createNew('track.ipynb');
    await page.notebook.setCell(0, 'code', SETUP);
    await page.notebook.addCell('code', 'C = 0.01');
    await page.notebook.addCell('code', TRACKED);
    await page.notebook.run();
    await page.notebook.setCell(1, 'code', 'C = 1.0');
    await page.notebook.runCell(1);
    await page.notebook.runCell(2);
    const output = (await page.notebook.getCellTextOutput(2))?.join('\n') ?? '';
    expect(output).not.toContain('Error');
    await page.notebook.save();
  });

  await test.step('both runs appear in the runs view opened from the sidebar', async () => {
    const sidebar = await openExperiments(page);
    const experiment = sidebar
      .getByRole('list', { name: 'Experiments' })
      .getByRole('button', { name: new RegExp(`^${EXPERIMENT}`) });
    await expect(experiment).toContainText('2 runs', { timeout: 20_000 });
    await experiment.click();
    const grid = page.getByRole('grid', { name: 'Runs' });
    await expect(grid).toBeVisible();
    await expect(grid.getByRole('row', { name: /c-0\.01/ })).toBeVisible();
    await expect(grid.getByRole('row', { name: /c-1\.0/ })).toBeVisible();
  });

  await test.step('select both runs and compare them', async () => {
    const view = page.locator('.jp-nbmlops-RunsView');
    await view.getByRole('checkbox', { name: 'Select run c-0.01' }).check();
    await view.getByRole('checkbox', { name: 'Select run c-1.0' }).check();
    await view.getByRole('button', { name: /^Compare/ }).click();
    const compare = page.locator('.jp-nbmlops-CompareView');
    await expect(compare.getByRole('heading', { name: 'Parameters' })).toBeVisible();
    await expect(compare.getByRole('heading', { name: 'Metrics' })).toBeVisible();
    await expect(compare).toContainText('c-0.01');
    await expect(compare).toContainText('c-1.0');
    await expect(compare).toContainText('accuracy');
  });

  await test.step('promote version 2 to production: the gate is shown, then confirmed', async () => {
    const sidebar = await openExperiments(page);
    await sidebar.getByRole('button', { name: 'Model registry' }).click();
    const models = page.locator('.jp-nbmlops-ModelsView');
    await expect(models).toContainText('clf');
    const promote = models.getByRole('button', { name: 'Promote version 2' });
    if (!(await promote.isVisible())) {
      await models.getByText('clf', { exact: true }).first().click();
    }
    await promote.click();

    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Alias').fill('production');
    await dialog.getByLabel('Gate').fill('metrics.accuracy > 2');
    await expect(dialog).toContainText('Gate fails');
    await dialog.getByLabel('Gate').fill('metrics.accuracy >= 0.5');
    await expect(dialog).toContainText('Gate passes');
    await dialog.getByLabel('Reason').fill('promoted by the UI test');
    await dialog.getByRole('button', { name: 'Confirm promotion' }).click();
    await expect(dialog).toHaveCount(0);
  });

  await test.step("a run's Open notebook opens the notebook it was tracked in, renamed since", async () => {
    const [tracked] = nbmlopsJson<any[]>('runs', '-e', EXPERIMENT, '--where', "name = 'c-1.0'");
    await execute(page, 'nbmlops:open-run', { runId: tracked.run_id });
    const run = page.locator('.jp-nbmlops-RunDetailView');
    await expect(run.getByRole('heading', { name: 'c-1.0' })).toBeVisible();
    // Galata creates the notebook as Untitled.ipynb, then renames it: the run recorded the old name,
    // and the panel finds the notebook where it is now through the run's kernel.
    const notebookTab = page.getByRole('tab', { name: 'track.ipynb' });
    await expect(notebookTab).toHaveAttribute('aria-selected', 'false');
    await run.getByRole('button', { name: 'Open notebook' }).click();
    await expect(notebookTab).toHaveAttribute('aria-selected', 'true');
    await expect(page.getByRole('dialog')).toHaveCount(0);
  });

  await test.step('the alias moved in the store', async () => {
    await expect
      .poll(() =>
        nbmlopsJson<any[]>('history', 'clf')
          .filter(e => e.alias === 'production')
          .map(e => e.to_version)
      )
      .toEqual([2]);
    const [entry] = nbmlopsJson<any[]>('history', 'clf');
    expect(entry.reason).toBe('promoted by the UI test');
    expect(entry.gate).toBe('metrics.accuracy >= 0.5');
    const response = await page.request.get('/nbmlops/api/models');
    const { models } = await response.json();
    expect(JSON.stringify(models.find((m: any) => m.name === 'clf'))).toContain('production');
  });
});
