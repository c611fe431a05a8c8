/**
 * Browser timings of the panel, written as JSON to $NBMLOPS_BENCH_OUTPUT for bench_panel.py.
 * Timed inside the page (performance.now(), polled every animation frame, then one more frame so
 * the rows or the chart are painted), so Playwright's round trips do not count. Asserts nothing.
 */
import { test } from '@jupyterlab/galata';
import * as fs from 'fs';

const EXPERIMENT = process.env.NBMLOPS_BENCH_EXPERIMENT ?? 'bench';
const HISTORY_RUN = process.env.NBMLOPS_BENCH_HISTORY_RUN as string;
const REPEATS = Number(process.env.NBMLOPS_BENCH_REPEATS ?? '3');
const figures: Record<string, number[] | number> = {};

test.use({ autoGoto: true });
test.describe.configure({ mode: 'serial' });

test.afterAll(() => {
  fs.writeFileSync(process.env.NBMLOPS_BENCH_OUTPUT as string, JSON.stringify(figures, null, 1));
});

/** In the page: helpers to wait for a condition frame by frame and for the next paint. */
const PAGE_HELPERS = `
  window.__nbmlopsBench = {
    frame: () => new Promise(r => requestAnimationFrame(() => r())),
    painted: () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0))),
    async until(predicate, timeout) {
      const start = performance.now();
      for (;;) {
        const value = predicate();
        if (value) return value;
        if (performance.now() - start > timeout) throw new Error('timed out');
        await this.frame();
      }
    }
  };
`;

test('runs view: 10,000 runs, first rows and last row painted', async ({ page }) => {
  await page.evaluate(PAGE_HELPERS);
  for (let i = 0; i < REPEATS; i++) {
    const result = await page.evaluate(async experiment => {
      const w = window as any;
      const bench = w.__nbmlopsBench;
      const app = w.jupyterapp;
      const started = performance.now();
      void app.commands.execute('nbmlops:open-runs', { experiment });
      const grid = await bench.until(() => {
        const g = document.querySelector('[role=grid][aria-label="Runs"]');
        return g && g.querySelector('[role=row][aria-rowindex="2"] input[type=checkbox]') ? g : null;
      }, 60_000);
      await bench.painted();
      const firstRows = performance.now() - started;
      const total = Number(grid.getAttribute('aria-rowcount')) - 1;
      const scrolled = performance.now();
      grid.scrollTop = grid.scrollHeight;
      await bench.until(
        () => grid.querySelector(`[role=row][aria-rowindex="${total + 1}"] input[type=checkbox]`),
        60_000
      );
      await bench.painted();
      const lastRow = performance.now() - scrolled;
      // Close the tab so the next repeat opens the view afresh.
      app.shell.currentWidget?.close();
      await bench.painted();
      return { firstRows, lastRow, total };
    }, EXPERIMENT);
    (figures.runs_first_rows_ms = (figures.runs_first_rows_ms as number[]) ?? []).push(result.firstRows);
    (figures.runs_last_row_ms = (figures.runs_last_row_ms as number[]) ?? []).push(result.lastRow);
    figures.runs_total = result.total;
  }
});

test('run detail: a 1,000,000-point metric history drawn', async ({ page }) => {
  await page.evaluate(PAGE_HELPERS);
  for (let i = 0; i < REPEATS; i++) {
    const result = await page.evaluate(async runId => {
      const w = window as any;
      const bench = w.__nbmlopsBench;
      const app = w.jupyterapp;
      const started = performance.now();
      void app.commands.execute('nbmlops:open-run', { runId });
      const canvas = await bench.until(() => {
        const c = document.querySelector(
          '.jp-nbmlops-RunDetailView .jp-nbmlops-chart-plot canvas'
        ) as HTMLCanvasElement | null;
        if (!c || c.width === 0 || c.height === 0) return null;
        const pixels = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        for (let p = 3; p < pixels.length; p += 4) {
          if (pixels[p] !== 0) return c;
        }
        return null;
      }, 60_000);
      await bench.painted();
      const drawn = performance.now() - started;
      const figure = canvas.closest('.jp-nbmlops-chart');
      const caption = figure?.textContent ?? '';
      app.shell.currentWidget?.close();
      await bench.painted();
      return { drawn, caption };
    }, HISTORY_RUN);
    (figures.history_drawn_ms = (figures.history_drawn_ms as number[]) ?? []).push(result.drawn);
    figures.history_caption_has_total = result.caption.replace(/\D/g, '').includes('1000000') ? 1 : 0;
  }
});
