/**
 * The Study section of an Optuna sweep's parent run and the PRUNED status, against a parent and four
 * trial runs (complete, pruned, complete, failed) logged through nbmlops' Python API into the test store
 * the way an Optuna sweep records them: the parent's sweep.* tags, best_accuracy, and its sweep.trials
 * and sweep.importances tables. Named to run after empty.spec.ts (files run in name order on one
 * worker, and that one needs the shared test store empty).
 */
import { expect, test } from '@jupyterlab/galata';

import { execute, python } from './helpers';

test.use({ autoGoto: true });
test.setTimeout(120_000);

const EXPERIMENT = 'ui-study';

const FIXTURE = `
import json
import math
import os
os.environ["NBMLOPS_SYSTEM_METRICS"] = "0"
import pandas as pd
import nbmlops

EXPERIMENT = ${JSON.stringify(EXPERIMENT)}
PLAN = [(0, "COMPLETE", 0.8, 0.01, "adam"), (1, "PRUNED", 0.55, 0.2, "sgd"),
        (2, "COMPLETE", 0.91, 0.003, "adam"), (3, "FAIL", math.nan, 0.5, "sgd")]
STATUS = {"COMPLETE": "FINISHED", "PRUNED": "PRUNED", "FAIL": "FAILED"}

parent = nbmlops.start_run(experiment=EXPERIMENT, name="study-parent")
ids = {"parent": parent.run_id}
rows = []
best = math.nan
for trial, state, value, lr, optimizer in PLAN:
    child = nbmlops.start_run(experiment=EXPERIMENT, name=f"trial-{trial}", parent=parent,
                              tags={"sweep.trial": str(trial)})
    nbmlops.log_params({"lr": lr, "optimizer": optimizer})
    if not math.isnan(value):
        nbmlops.log_metric("accuracy", value, step=3)
    if state == "PRUNED":
        nbmlops.set_tags({"sweep.pruned_at_step": "3"})
    nbmlops.end_run(STATUS[state])
    ids[f"trial-{trial}"] = child.run_id
    if state == "COMPLETE" and not (value <= best):
        best = value
    rows.append({"trial": trial, "run_id": child.run_id, "state": state,
                 "value": value if state != "FAIL" else math.nan, "best_so_far": best, "duration_s": 1.0 + trial,
                 "params.lr": lr, "params.optimizer": optimizer})
nbmlops.set_tags({"sweep.sampler": "tpe", "sweep.pruner": "median", "sweep.trials": "4", "sweep.study": "ui-study",
                  "sweep.metric": "accuracy", "sweep.direction": "maximize", "sweep.best_run": ids["trial-2"],
                  "sweep.best_trial": "2"})
nbmlops.log_metric("best_accuracy", 0.91)
nbmlops.log_table(pd.DataFrame(rows), "sweep.trials")
nbmlops.log_table(pd.DataFrame({"param": ["optimizer", "lr"], "importance": [0.35, 0.65]}), "sweep.importances")
nbmlops.end_run()
nbmlops.runs(EXPERIMENT)  # folds the journals into the catalog now
print(json.dumps(ids))
`;

let ids: Record<string, string>;

test.beforeAll(() => {
  ids = JSON.parse(python(FIXTURE).trim().split('\n').pop() as string);
});

test("a sweep's parent run shows its study: summary, objective over trials and importances", async ({ page }) => {
  await execute(page, 'nbmlops:open-run', { runId: ids['parent'] });
  const view = page.locator('.jp-nbmlops-RunDetailView');
  const study = view.getByRole('region', { name: 'Study' });
  await expect(study).toBeVisible();

  await test.step('the summary names the sampler, pruner, objective, counts by state and the best trial', async () => {
    for (const text of [
      'tpe sampler',
      'median pruner',
      'maximize accuracy',
      '4 trials: 2 complete / 1 pruned / 1 failed',
      'best 0.91 at trial 2'
    ]) {
      await expect(study).toContainText(text);
    }
  });

  await test.step('the chart draws the trials and the best-so-far line', async () => {
    const chart = study.getByRole('img', { name: /accuracy over 4 trials/ });
    await chart.scrollIntoViewIfNeeded();
    await expect(chart).toBeVisible();
    // something was drawn: pixels in the pruned trial's orange and the best-so-far green
    const colors = await chart.evaluate((canvas: HTMLCanvasElement) => {
      const data = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(
        0,
        0,
        canvas.width,
        canvas.height
      ).data;
      const seen = new Set<string>();
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] === 255) {
          seen.add(`${data[i]},${data[i + 1]},${data[i + 2]}`);
        }
      }
      return Array.from(seen);
    });
    expect(colors).toContain('242,142,43'); // PRUNED
    expect(colors).toContain('89,161,79'); // best so far
    await expect(study.getByRole('list', { name: 'Legend' })).toContainText('pruned');

    await chart.focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    const tip = study.getByRole('status');
    await expect(tip).toContainText('Trial 1');
    await expect(tip).toContainText('PRUNED');
    await expect(tip).toContainText('optimizer = sgd');
  });

  await test.step('the importances are bars, largest first', async () => {
    const importances = study.getByRole('list', { name: 'Parameter importances' });
    await expect(importances.getByRole('listitem')).toHaveCount(2);
    await expect(importances.getByRole('listitem').first()).toContainText('lr');
    await expect(importances.getByRole('listitem').nth(1)).toContainText('optimizer');
  });

  await test.step('the best trial link opens its run', async () => {
    await study.getByRole('button', { name: 'trial 2' }).click();
    await expect(page.getByRole('heading', { name: 'trial-2' })).toBeVisible();
  });
});

test('the runs table and a pruned run show the PRUNED status', async ({ page }) => {
  await execute(page, 'nbmlops:open-runs', { experiment: EXPERIMENT });
  const grid = page.getByRole('grid', { name: 'Runs' });
  const pruned = grid.getByRole('row', { name: /trial-1/ });
  await expect(pruned).toBeVisible();
  await expect(pruned.locator('.jp-nbmlops-status-pruned')).toHaveText('PRUNED');
  await expect(grid.getByRole('row', { name: /trial-3/ }).locator('.jp-nbmlops-status')).toHaveText('FAILED');

  await execute(page, 'nbmlops:open-run', { runId: ids['trial-1'] });
  const run = page.locator('.jp-nbmlops-RunDetailView').filter({ hasText: 'trial-1' });
  await expect(run.locator('.jp-nbmlops-run-header .jp-nbmlops-status-pruned')).toHaveText('PRUNED');
  await expect(run).toContainText("at step 3, by the sweep's pruner");
  await expect(run.getByRole('region', { name: 'Study' })).toHaveCount(0);
});

const BIG_STUDY = `
import json
import os
os.environ["NBMLOPS_SYSTEM_METRICS"] = "0"
import numpy as np
import pandas as pd
import nbmlops

n = 10_000
rng = np.random.default_rng(0)
value = rng.random(n)
state = np.where(np.arange(n) % 7 == 3, "PRUNED", np.where(np.arange(n) % 50 == 9, "FAIL", "COMPLETE"))
value[state == "FAIL"] = np.nan
best = pd.Series(np.where(state == "COMPLETE", value, np.nan)).cummin().to_numpy()
with nbmlops.start_run(experiment="ui-study-big", name="big-study") as run:
    nbmlops.set_tags({"sweep.sampler": "random", "sweep.pruner": "hyperband", "sweep.trials": str(n),
                      "sweep.metric": "loss", "sweep.direction": "minimize", "sweep.study": "big"})
    nbmlops.log_table(pd.DataFrame({"trial": np.arange(n), "run_id": [f"r{i}" for i in range(n)], "state": state,
                                    "value": value, "best_so_far": best, "duration_s": np.ones(n),
                                    "params.x": rng.random(n)}), "sweep.trials")
nbmlops.runs("ui-study-big")
print(json.dumps({"parent": run.run_id, "pruned": int((state == "PRUNED").sum()), "failed": int((state == "FAIL").sum())}))
`;

test('a study of 10,000 trials is read in pages and drawn whole', async ({ page }) => {
  const big = JSON.parse(python(BIG_STUDY).trim().split('\n').pop() as string);
  const started = Date.now();
  await execute(page, 'nbmlops:open-run', { runId: big.parent });
  const study = page.locator('.jp-nbmlops-RunDetailView').getByRole('region', { name: 'Study' });
  await expect(study.getByRole('img', { name: /loss over 10000 trials/ })).toBeVisible();
  // a figure for the record, not a test of speed: the browser's round trips are in it
  console.log(`study of 10,000 trials: open-run to chart ${Date.now() - started} ms`);
  await expect(study).toContainText(
    `10000 trials: ${10_000 - big.pruned - big.failed} complete / ${big.pruned} pruned / ${big.failed} failed`
  );
  await expect(study).toContainText('minimize loss');
  await expect(study.getByRole('list', { name: 'Parameter importances' })).toHaveCount(0);
});

const LIVE_STUDY = `
import json
import os
os.environ["NBMLOPS_SYSTEM_METRICS"] = "0"
import nbmlops

parent = nbmlops.start_run(experiment="ui-study-live", name="live-study")
nbmlops.set_tags({"sweep.sampler": "tpe", "sweep.pruner": "median", "sweep.trials": "6", "sweep.metric": "loss",
                  "sweep.direction": "minimize", "sweep.study": "live"})
for trial, status, loss in ((0, "FINISHED", 0.4), (1, "PRUNED", 0.9), (2, "FINISHED", 0.3), (3, "FINISHED", None)):
    nbmlops.start_run(experiment="ui-study-live", name=f"live-{trial}", parent=parent, tags={"sweep.trial": str(trial)})
    if loss is not None:
        nbmlops.log_metric("loss", loss, step=1)
    nbmlops.end_run(status)
nbmlops.end_run("KILLED")  # the sweep's process died before it logged sweep.trials
nbmlops.runs("ui-study-live")
print(json.dumps({"parent": parent.run_id}))
`;

test('a sweep without its trials table shows its trials from its child runs', async ({ page }) => {
  const live = JSON.parse(python(LIVE_STUDY).trim().split('\n').pop() as string);
  await execute(page, 'nbmlops:open-run', { runId: live.parent });
  const study = page.locator('.jp-nbmlops-RunDetailView').getByRole('region', { name: 'Study' });
  await expect(study).toContainText('From the trial runs so far');
  await expect(study).toContainText('4 of 6 trials: 2 complete / 1 pruned / 1 failed');
  await expect(study).toContainText('best 0.3 at trial 2');
  await expect(study.getByRole('img', { name: /loss over 4 trials/ })).toBeVisible();
  await study.getByRole('button', { name: 'trial 2' }).click();
  await expect(page.getByRole('heading', { name: 'live-2' })).toBeVisible();
});
