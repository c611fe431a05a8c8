/**
 * Monitoring and lineage in the panel: a model trained on a logged dataset, a batch like the
 * training data and a shifted batch monitored from Python; the models view shows the drift time
 * series and the latest per-feature drift, and run and model views draw the lineage graph.
 */
import { expect, test } from '@jupyterlab/galata';

import { execute, python } from './helpers';

const SETUP = `
import numpy as np, pandas as pd, nbmlops
from sklearn.linear_model import LogisticRegression
rng = np.random.default_rng(0)
def batch(n, shift=0.0):
    return pd.DataFrame({"tenure": rng.normal(24 + 12 * shift, 6, n), "spend": rng.normal(50, 10, n),
                         "plan": rng.choice(["basic", "pro"], n)})
train = batch(400)
labels = (train["tenure"] > 24).astype(int)
with nbmlops.start_run(experiment="ui-monitoring", name="fit-churn") as run:
    nbmlops.log_dataset(train, name="customers", role="train")
    model = LogisticRegression().fit(train[["tenure", "spend"]], labels)
    nbmlops.log_model(model, "churn", reference_data=train[["tenure", "spend"]])
nbmlops.promote("churn", 1)
nbmlops.monitor("churn@production", batch(500)[["tenure", "spend"]], timestamp="2026-03-01T00:00:00Z")
nbmlops.monitor("churn@production", batch(500, shift=2.0)[["tenure", "spend"]], timestamp="2026-03-02T00:00:00Z")
print(run.run_id)
`;

test.use({ autoGoto: true });
test.setTimeout(120_000);

test('the models view shows drift over time, the latest feature drift and the lineage', async ({ page }) => {
  const runId = python(SETUP).trim().split('\n').pop() as string;

  await execute(page, 'nbmlops:open-models', { name: 'churn' });
  const models = page.locator('.jp-nbmlops-ModelsView');
  await expect(models.getByRole('heading', { name: 'Monitoring' })).toBeVisible();
  const features = models.getByRole('table', { name: 'Feature drift of churn' });
  await expect(features).toBeVisible();
  // The shifted batch is the latest report: tenure moved by two standard deviations, spend did not.
  const tenure = features.getByRole('row', { name: /tenure/ });
  const spend = features.getByRole('row', { name: /spend/ });
  await expect(tenure).toContainText('drift');
  await expect(tenure).not.toContainText('no drift');
  await expect(spend).toContainText('no drift');
  await expect(features.getByRole('row').nth(1)).toContainText('tenure'); // drifted columns first
  await expect(
    models.locator('.jp-nbmlops-model-monitoring canvas, .jp-nbmlops-model-section canvas').first()
  ).toBeVisible();

  const lineage = models.getByRole('group', { name: /Lineage of/ });
  await expect(lineage.getByRole('img', { name: /Dataset customers/ })).toBeVisible();
  await lineage.getByRole('link', { name: /^Open run fit-churn/ }).click();
  await expect(page.getByRole('tab', { name: 'Run fit-churn' })).toBeVisible();

  const run = page.locator('.jp-nbmlops-RunDetailView');
  await expect(run.getByRole('heading', { name: 'Lineage' })).toBeVisible();
  const graph = run.getByRole('group', { name: new RegExp(`^Lineage of fit-churn \\(${runId.slice(0, 8)}`) });
  await expect(graph.getByRole('link', { name: /churn@production/ })).toBeVisible();
});
