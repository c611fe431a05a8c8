/**
 * The panel benchmark (run by benchmarks/bench_panel.py, which fills the store and reads the
 * figures): the test config with a larger window, on the store and port the script chose.
 */
const main = require('../playwright.config.js');

module.exports = {
  ...main,
  testDir: __dirname,
  testMatch: /.*\.bench\.ts$/,
  timeout: 300_000,
  use: { ...main.use, viewport: { width: 1400, height: 900 } },
  // The server's log would bury the figures; run the UI tests to see why a server fails to start.
  webServer: { ...main.webServer, stderr: 'ignore' }
};
