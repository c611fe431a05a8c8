/**
 * The panel on an empty store. This file runs first (files run in name order on one worker),
 * before workflow.spec.ts creates runs in the shared test store.
 */
import { expect, test } from '@jupyterlab/galata';

import { execute, openExperiments, searchPalette } from './helpers';

test.use({ autoGoto: true });

test('the sidebar tells what to do when there are no runs', async ({ page }) => {
  const sidebar = await openExperiments(page);
  const empty = sidebar.getByRole('status');
  await expect(empty).toContainText('No runs yet');
  await expect(empty).toContainText('%%track');
  await expect(sidebar.getByRole('list', { name: 'Experiments' })).toHaveCount(0);
});

test('the command palette lists the panel commands', async ({ page }) => {
  const palette = await searchPalette(page, 'nbmlops');
  for (const label of ['Show Experiments', 'Open All Runs', 'Open Model Registry', 'Refresh Experiments and Runs']) {
    await expect(palette.getByRole('menuitem', { name: new RegExp(`^${label}`) })).toBeVisible();
  }
  await palette.getByRole('menuitem', { name: /^Open All Runs/ }).click();
  await expect(page.getByRole('tab', { name: /Runs: all experiments/ })).toBeVisible();
});

test('a bad filter shows an inline error naming the column', async ({ page }) => {
  await execute(page, 'nbmlops:open-runs');
  const view = page.locator('.jp-nbmlops-RunsView');
  const filter = view.getByRole('searchbox', { name: 'Filter runs' });
  await filter.fill('metrics.accuracy > ');
  await filter.press('Enter');
  const error = view.getByRole('alert');
  await expect(error).toContainText('bad filter');
  await expect(error).toContainText('column');

  await filter.fill('metrics.accuracy > 0.5');
  await filter.press('Enter');
  await expect(view.getByRole('alert')).toHaveCount(0);
});
