/**
 * The panel on a team store (PostgreSQL + S3): run by `team_store.py`, which makes the store and
 * writes runs from two machines before JupyterLab starts; the other files run on a local store.
 */
import { expect, test } from '@jupyterlab/galata';

import { nbmlopsJson, openExperiments } from './helpers';

test.use({ autoGoto: true });

test('runs and models written on two machines show in the panel, and a promotion lands in the team store', async ({
  page
}) => {
  const sidebar = await openExperiments(page);
  const experiment = sidebar.getByRole('list', { name: 'Experiments' }).getByRole('button', { name: /^team-panel/ });
  await expect(experiment).toContainText('2 runs', { timeout: 30_000 });
  await experiment.click();
  const grid = page.getByRole('grid', { name: 'Runs' });
  await expect(grid.getByRole('row', { name: /run-from-alice/ })).toBeVisible();
  await expect(grid.getByRole('row', { name: /run-from-bob/ })).toBeVisible();

  await sidebar.getByRole('button', { name: 'Model registry' }).click();
  const models = page.locator('.jp-nbmlops-ModelsView');
  await expect(models).toContainText('team-model');
  const promote = models.getByRole('button', { name: 'Promote version 1' });
  if (!(await promote.isVisible())) {
    await models.getByText('team-model', { exact: true }).first().click();
  }
  await promote.click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Alias').fill('production');
  await dialog.getByLabel('Reason').fill('promoted on the team store');
  await dialog.getByRole('button', { name: 'Confirm promotion' }).click();
  await expect(dialog).toHaveCount(0);

  const history = nbmlopsJson<Array<{ alias: string; to_version: number }>>('history', 'team-model');
  expect(history.map(h => [h.alias, h.to_version])).toEqual([['production', 1]]);
});
