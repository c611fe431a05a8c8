/**
 * The Media and System sections of a run, and the compare view's images side by side and bars for
 * a metric logged once per run, against runs logged through nbmlops' Python API into the test store.
 */
import { expect, test } from '@jupyterlab/galata';

import { execute, python } from './helpers';

test.use({ autoGoto: true });
test.setTimeout(120_000);

/**
 * Two runs: images at steps 0-2 (a square that grows with the step), a figure, a text, system metrics, and a
 * table of 250 rows whose smallest scores (-5, rows 102 and 203) lie beyond its first page of 100.
 */
const FIXTURE = `
import json
import os
os.environ["NBMLOPS_SYSTEM_METRICS"] = "0"  # the machine's own samples would differ run to run: these are logged below
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import nbmlops

ids = {}
for name, accuracy, shade in (("media-a", 0.81, 200), ("media-b", 0.93, 90)):
    with nbmlops.start_run(experiment="ui-media", name=name) as run:
        for step in range(3):
            image = np.zeros((64, 64, 3), dtype=np.uint8)
            image[: 16 * (step + 1), : 16 * (step + 1)] = (shade, 40 * step, 255 - shade)
            nbmlops.log_image(image, "sample", step=step)
            nbmlops.log_metric("loss", 1 / (step + 1), step=step)
        nbmlops.log_metric("accuracy", accuracy)
        if name == "media-a":
            fig, ax = plt.subplots(figsize=(3, 2))
            ax.plot([0, 1, 2], [1.0, 0.5, 0.33])
            nbmlops.log_figure(fig, "loss curve")
            plt.close(fig)
            score = [0.5, -1.25, 9.0, 0.75] + [round((i * 37 % 101) / 10 - 5, 2) for i in range(4, 250)]
            score[150] = float("nan")
            nbmlops.log_table(pd.DataFrame({"id": range(1, 251), "score": score,
                                            "label": ["b", "a", "ünï", "c"] + [f"row {i}" for i in range(5, 251)]}),
                              "predictions")
            nbmlops.log_text("precision 0.9\\nrecall 0.8", "report")
            for step in range(4):
                nbmlops.log_metrics({"system/cpu_percent": 20.0 + step, "system/memory_used_mb": 900.0 + step,
                                     "system/gpu0_utilization": 50.0 + step}, step=step)
    ids[name] = run.run_id
with nbmlops.start_run(experiment="ui-media", name="plain") as run:
    nbmlops.log_metric("accuracy", 0.5)
ids["plain"] = run.run_id
nbmlops.runs("ui-media")  # folds the journals into the catalog now
print(json.dumps(ids))
`;

let ids: Record<string, string>;

test.beforeAll(() => {
  ids = JSON.parse(python(FIXTURE).trim().split('\n').pop() as string);
});

/** Whether the browser decoded the image (a broken URL leaves naturalWidth at 0). */
async function loaded(image: import('@playwright/test').Locator): Promise<number> {
  await image.scrollIntoViewIfNeeded();
  return image.evaluate(async (element: HTMLImageElement) => {
    await element.decode().catch(() => undefined);
    return element.naturalWidth;
  });
}

test('a run shows its images with a step slider, its figure, table, text and system charts', async ({ page }) => {
  await execute(page, 'nbmlops:open-run', { runId: ids['media-a'] });
  const view = page.locator('.jp-nbmlops-RunDetailView');
  const media = view.getByRole('region', { name: 'Media' });
  await expect(media).toBeVisible();

  await test.step('the image at the last step, then at the step the slider chose', async () => {
    const images = media.getByRole('group', { name: 'Images' });
    const last = images.getByRole('img', { name: 'sample at step 2' });
    await expect(last).toBeVisible();
    expect(await loaded(last)).toBe(64);
    await images.getByRole('slider', { name: /Step/ }).fill('0');
    const first = images.getByRole('img', { name: 'sample at step 0' });
    await expect(first).toBeVisible();
    await expect(first).toHaveAttribute('src', /step-0\.png/);
    expect(await loaded(first)).toBe(64);
    await expect(images.getByRole('img', { name: 'sample at step 2' })).toHaveCount(0);
  });

  await test.step('the figure is drawn', async () => {
    const figure = media.getByRole('group', { name: 'Figures' }).getByRole('img', { name: 'loss curve' });
    await expect(figure).toBeVisible();
    expect(await loaded(figure)).toBeGreaterThan(0);
  });

  await test.step('a column header sorts the whole table, and the pager keeps its order', async () => {
    const table = media.getByRole('table', { name: 'predictions' });
    await expect(table).toBeVisible();
    const cells = (column: number) => async (): Promise<string[]> =>
      table.locator(`tbody tr td:nth-child(${column})`).allTextContents();
    const ids = cells(1);
    const scores = cells(2);
    const first = (n: number, of: () => Promise<string[]>) => async (): Promise<string[]> => (await of()).slice(0, n);
    await expect.poll(first(4, scores)).toEqual(['0.5', '-1.25', '9', '0.75']);
    await expect(media.getByText('Rows 1–100 of 250')).toBeVisible();

    await table.getByRole('button', { name: 'score' }).click();
    // the two -5 scores are rows 102 and 203, beyond the page that was shown
    await expect.poll(first(4, ids)).toEqual(['102', '203', '72', '173']);
    await expect.poll(first(3, scores)).toEqual(['-5', '-5', '-4.9']);
    await expect(table.getByRole('columnheader', { name: 'score' })).toHaveAttribute('aria-sort', 'ascending');

    await table.getByRole('button', { name: 'score' }).click();
    await expect.poll(first(5, ids)).toEqual(['3', '31', '132', '233', '61']);
    await expect(table.getByRole('columnheader', { name: 'score' })).toHaveAttribute('aria-sort', 'descending');
    await expect(table).toContainText('ünï');
    await expect(media).not.toContainText('within this page');

    await media.getByRole('button', { name: 'Next rows' }).click();
    await expect(media.getByText('Rows 101–200 of 250')).toBeVisible();
    await expect.poll(first(3, ids)).toEqual(['49', '150', '79']);
    await media.getByRole('button', { name: 'Next rows' }).click();
    await expect(media.getByText('Rows 201–250 of 250')).toBeVisible();
    // the smallest scores, then the NaN (shown as null): missing values stay last when descending
    await expect.poll(async () => (await ids()).slice(-3)).toEqual(['102', '203', '151']);
    await expect.poll(async () => (await scores()).slice(-1)).toEqual(['null']);
    await expect(table.getByRole('columnheader', { name: 'score' })).toHaveAttribute('aria-sort', 'descending');
  });

  await test.step('the text is shown as it was logged', async () => {
    await expect(media.getByLabel('report')).toHaveText('precision 0.9\nrecall 0.8');
  });

  await test.step('system metrics are charted by device, apart from the other metrics', async () => {
    const system = view.getByRole('region', { name: 'System' });
    await expect(system.getByRole('group', { name: 'CPU' })).toBeVisible();
    await expect(system.getByRole('group', { name: 'Memory' })).toBeVisible();
    await expect(system.getByRole('group', { name: 'GPU 0' })).toBeVisible();
    await expect(system.getByRole('img', { name: 'History of system/cpu_percent' }).locator('canvas')).toHaveCount(1);
    const metrics = view.getByRole('table', { name: 'Latest metric values' });
    await expect(metrics).toContainText('accuracy');
    await expect(metrics).not.toContainText('system/cpu_percent');
  });
});

test('a run without media or system metrics has neither section', async ({ page }) => {
  await execute(page, 'nbmlops:open-run', { runId: ids['plain'] });
  const view = page.locator('.jp-nbmlops-RunDetailView');
  await expect(view.getByRole('region', { name: 'Metrics' })).toBeVisible();
  await expect(view.getByRole('region', { name: 'Artifacts' })).toBeVisible();
  await expect(view.getByRole('region', { name: 'Media' })).toHaveCount(0);
  await expect(view.getByRole('region', { name: 'System' })).toHaveCount(0);
});

test('comparing two runs shows their images side by side and a one-point metric as bars', async ({ page }) => {
  await execute(page, 'nbmlops:compare', { runIds: [ids['media-a'], ids['media-b']] });
  const compare = page.locator('.jp-nbmlops-CompareView');

  await test.step('one bar per run for accuracy, lines for loss', async () => {
    const bars = compare.getByRole('list', { name: 'accuracy, one value per run' });
    await expect(bars).toBeVisible();
    await expect(bars.getByRole('listitem')).toHaveText([/0\.81\s*media-a/, /0\.93\s*media-b/]);
    const heights = await bars
      .locator('.jp-nbmlops-bar-fill')
      .evaluateAll(fills => fills.map(fill => fill.getBoundingClientRect().height));
    expect(heights[1]).toBeGreaterThan(heights[0]);
    await expect(compare.getByRole('img', { name: 'History of loss' }).locator('canvas')).toHaveCount(1);
  });

  await test.step('the images of both runs at one shared step', async () => {
    const table = compare.getByRole('table', { name: 'Images side by side' });
    await expect(table).toBeVisible();
    const row = table.getByRole('row', { name: /^sample/ });
    await expect(row.getByRole('img')).toHaveCount(2);
    await expect(row.getByRole('img', { name: 'sample (step 2) of media-a' })).toBeVisible();
    await expect(row.getByRole('img', { name: 'sample (step 2) of media-b' })).toBeVisible();
    await compare.getByRole('region', { name: 'Images' }).getByRole('slider', { name: /Step/ }).fill('1');
    const a = row.getByRole('img', { name: 'sample (step 1) of media-a' });
    const b = row.getByRole('img', { name: 'sample (step 1) of media-b' });
    await expect(a).toHaveAttribute(
      'src',
      new RegExp(`runs/${ids['media-a']}/artifacts/media/image/sample/step-1\\.png`)
    );
    await expect(b).toHaveAttribute(
      'src',
      new RegExp(`runs/${ids['media-b']}/artifacts/media/image/sample/step-1\\.png`)
    );
    expect(await loaded(a)).toBe(64);
    expect(await loaded(b)).toBe(64);
  });
});
