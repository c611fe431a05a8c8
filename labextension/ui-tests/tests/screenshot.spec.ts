/**
 * The README's picture of the panel: a few tracked runs of one experiment, the sidebar and the runs
 * view as a new user sees them after the quickstart, params and metrics in view. The PNG is committed
 * (docs/images/panel.png); a test run writes it there only when asked, so `make test` leaves the tree
 * clean: after a visible change to the panel run
 *   UPDATE_README_PICTURE=1 jlpm playwright test tests/screenshot.spec.ts
 * and commit the new picture.
 */
import { expect, test } from '@jupyterlab/galata';
import * as path from 'path';

import { openExperiments, python } from './helpers';

const EXPERIMENT = 'quickstart';
const PICTURE = process.env.UPDATE_README_PICTURE
  ? path.resolve(__dirname, '..', '..', '..', 'docs', 'images', 'panel.png')
  : ''; // else into this test's own output folder

// Three runs like the quickstart's %%track cell makes.
const SETUP = `
import nbmlops
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
for C in (0.01, 0.1, 1.0):
    with nbmlops.start_run(experiment="${EXPERIMENT}", name=f"logreg-C{C}"):
        nbmlops.log_param("C", C)
        clf = LogisticRegression(C=C, max_iter=5000).fit(X_train, y_train)
        nbmlops.log_metrics({"accuracy_score": accuracy_score(y_test, clf.predict(X_test)),
                             "roc_auc_score": roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])})
`;

test.use({ autoGoto: true, viewport: { width: 1500, height: 560 } });
test.setTimeout(120_000);

test('the runs view lists the tracked runs with their params and metrics (README picture)', async ({ page }) => {
  python(SETUP);

  const sidebar = await openExperiments(page);
  const experiment = sidebar
    .getByRole('list', { name: 'Experiments' })
    .getByRole('button', { name: new RegExp(`^${EXPERIMENT}`) });
  await expect(experiment).toContainText('3 runs', { timeout: 20_000 });
  await experiment.click();

  const grid = page.getByRole('grid', { name: 'Runs' });
  await expect(grid).toBeVisible();
  for (const C of ['0.01', '0.1', '1.0']) {
    await expect(grid.getByRole('row', { name: new RegExp(`logreg-C${C.replace('.', '\\.')}\\b`) })).toBeVisible();
  }
  await expect(grid).toContainText('roc_auc');
  await expect(grid).toContainText('accuracy_score');

  await page.mouse.move(0, 0);
  await expect(grid.getByRole('columnheader', { name: /roc_auc/ })).toBeInViewport();
  await page.screenshot({ path: PICTURE || test.info().outputPath('panel.png') });
});
