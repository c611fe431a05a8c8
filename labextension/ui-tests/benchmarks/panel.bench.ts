/**
 * Browser timings of the panel, written as JSON to $NBMLOPS_BENCH_OUTPUT for bench_panel.py.
 * Timed inside the page (performance.now(), polled every animation frame, then one more frame so
 * the rows or the chart are painted), so Playwright's round trips do not count. Asserts nothing.
 */
import { test } from '@jupyterlab/galata';
import * as fs from 'fs';

const EXPERIMENT = process.env.NBMLOPS_BENCH_EXPERIMENT ?? 'bench';
const HISTORY_RUN = process.env.NBMLOPS_BENCH_HISTORY_RUN as string;
const MEDIA_RUN = process.env.NBMLOPS_BENCH_MEDIA_RUN;
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
        // the loss chart's canvas: the run's system/... charts have canvases too
        const c = document.querySelector(
          '.jp-nbmlops-RunDetailView [role=img][aria-label="History of loss"] canvas'
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

test('run detail: a media grid of many images laid out and shown', async ({ page }) => {
  test.skip(!MEDIA_RUN, 'no media run in this store');
  await page.evaluate(PAGE_HELPERS);
  for (let i = 0; i < REPEATS; i++) {
    const result = await page.evaluate(async runId => {
      const w = window as any;
      const bench = w.__nbmlopsBench;
      const app = w.jupyterapp;
      performance.clearResourceTimings();
      const started = performance.now();
      void app.commands.execute('nbmlops:open-run', { runId });
      const grid = await bench.until(() => {
        const g = document.querySelector('.jp-nbmlops-RunDetailView .jp-nbmlops-media-grid');
        return g && g.querySelector('.jp-nbmlops-media-cell') ? g : null;
      }, 60_000);
      await bench.painted();
      const painted = performance.now() - started;
      // Layout shifts while the images arrive: 0 when every thumbnail's box is fixed before its image loads.
      let shift = 0;
      const observer = new PerformanceObserver(list => {
        for (const entry of list.getEntries() as any[]) {
          if (!entry.hadRecentInput) {
            shift += entry.value;
          }
        }
      });
      observer.observe({ type: 'layout-shift', buffered: false });
      const scroller = grid.closest('.jp-nbmlops-run') as HTMLElement;
      // the thumbnails whose box is in the window, and whether each one's image is decoded
      const inView = (): Element[] => {
        const box = scroller.getBoundingClientRect();
        return Array.from(grid.querySelectorAll('.jp-nbmlops-media-cell')).filter(cell => {
          const r = cell.getBoundingClientRect();
          return r.bottom > box.top && r.top < box.bottom && r.right > box.left && r.left < box.right;
        });
      };
      const decoded = (cell: Element): boolean => {
        const img = cell.querySelector('img');
        return !!img && img.complete && img.naturalWidth > 0;
      };
      await bench.until(() => inView().every(decoded), 60_000);
      await bench.painted();
      const shown = performance.now() - started;
      observer.disconnect();
      const fetched = performance
        .getEntriesByType('resource')
        .filter(entry => entry.name.includes('/artifacts/media/image/')).length;
      const cells = grid.querySelectorAll('.jp-nbmlops-media-cell').length;
      const visible = inView().length;
      app.shell.currentWidget?.close();
      await bench.painted();
      return { painted, shown, shift, fetched, cells, visible };
    }, MEDIA_RUN as string);
    (figures.media_grid_painted_ms = (figures.media_grid_painted_ms as number[]) ?? []).push(result.painted);
    (figures.media_visible_loaded_ms = (figures.media_visible_loaded_ms as number[]) ?? []).push(result.shown);
    figures.media_layout_shift = Math.max((figures.media_layout_shift as number) ?? 0, result.shift);
    (figures.media_fetched = (figures.media_fetched as number[]) ?? []).push(result.fetched);
    figures.media_cells = result.cells;
    figures.media_visible = result.visible;
  }
});
