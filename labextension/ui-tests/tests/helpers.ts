/** What the panel tests share: the test store, the nbmlops CLI on it, and panel navigation. */
import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';
import { execFileSync } from 'child_process';
import * as path from 'path';

/** The throwaway store the test server serves (made by playwright.config.js). */
export const STORE = process.env.NBMLOPS_UI_STORE as string;

/** `nbmlops --store STORE ARGS` with the project's venv; its stdout. */
export function nbmlops(...args: string[]): string {
  const bin = path.join(process.env.NBMLOPS_UI_VENV_BIN as string, 'python');
  return execFileSync(bin, ['-m', 'nbmlops.cli', '--store', STORE, ...args], {
    encoding: 'utf-8',
    timeout: 60_000
  });
}

/** `nbmlops ... --format json`, parsed. */
export function nbmlopsJson<T = any>(...args: string[]): T {
  return JSON.parse(nbmlops(...args, '--format', 'json')) as T;
}

/** Run a JupyterLab command the way the palette or a menu would. */
export async function execute(
  page: IJupyterLabPageFixture,
  id: string,
  args: Record<string, unknown> = {}
): Promise<void> {
  await page.evaluate(
    async ({ id, args }) => {
      await (window as any).jupyterapp.commands.execute(id, args);
    },
    { id, args }
  );
}

/** Open the left sidebar "Experiments" and return it. */
export async function openExperiments(page: IJupyterLabPageFixture) {
  await page.sidebar.openTab('nbmlops-sidebar');
  const sidebar = page.locator('#nbmlops-sidebar');
  await expect(sidebar).toBeVisible();
  return sidebar;
}

/** The command palette's items matching `text`. */
export async function searchPalette(page: IJupyterLabPageFixture, text: string) {
  await page.keyboard.press('Control+Shift+C');
  const palette = page.locator('#command-palette');
  await expect(palette).toBeVisible();
  await palette.getByRole('textbox').fill(text);
  return palette;
}

/** Run Python `code` with the project's venv against the test store; its stdout. */
export function python(code: string): string {
  const bin = path.join(process.env.NBMLOPS_UI_VENV_BIN as string, 'python');
  return execFileSync(bin, ['-c', code], {
    encoding: 'utf-8',
    timeout: 120_000,
    env: { ...process.env, NBMLOPS_STORE: STORE }
  });
}
