/**
 * Galata (Playwright Test) configuration: Debian's Chromium, a JupyterLab from the project's venv
 * on a fixed port, serving a throwaway nbmlops store.
 *
 * Never run `playwright install`: the browser is /usr/bin/chromium (apt-get install chromium).
 */
const fs = require('fs');
const os = require('os');
const path = require('path');

const base = require('@jupyterlab/galata/lib/playwright-config');

const PORT = process.env.NBMLOPS_UI_PORT || '8896';
// The project's venv (.venv-team for tests/team.spec.ts: team_store.py sets NBMLOPS_UI_VENV_BIN).
const VENV_BIN = process.env.NBMLOPS_UI_VENV_BIN || path.resolve(__dirname, '..', '..', '.venv', 'bin');

// One temporary store for the server, its kernels and the tests (workers inherit process.env).
if (!process.env.NBMLOPS_UI_STORE) {
  process.env.NBMLOPS_UI_STORE = fs.mkdtempSync(path.join(os.tmpdir(), 'nbmlops-ui-store-'));
}
process.env.NBMLOPS_UI_VENV_BIN = VENV_BIN;

module.exports = {
  ...base,
  testDir: './tests',
  // tests/team.spec.ts needs a team store around it (team_store.py makes one and sets NBMLOPS_UI_TEAM);
  // the other files run on a throwaway store folder.
  ...(process.env.NBMLOPS_UI_TEAM ? { testMatch: 'team.spec.ts' } : { testIgnore: 'team.spec.ts' }),
  timeout: 90_000,
  expect: { timeout: 15_000 },
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: [['list']],
  use: {
    ...base.use,
    baseURL: `http://localhost:${PORT}`,
    video: 'off',
    trace: 'off',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update']
    }
  },
  webServer: {
    command: `${path.join(VENV_BIN, 'python')} -m jupyterlab --config jupyter_server_test_config.py`,
    cwd: __dirname,
    url: `http://localhost:${PORT}/lab`,
    timeout: 120_000,
    reuseExistingServer: false,
    env: {
      ...process.env,
      PATH: `${VENV_BIN}:${process.env.PATH}`,
      NBMLOPS_STORE: process.env.NBMLOPS_UI_STORE,
      NBMLOPS_UI_PORT: PORT
    }
  }
};
