// Playwright runner config for allot's browser tests.
// Uses Debian's Chromium at /usr/bin/chromium: nothing here downloads a browser.
// scripts/test starts the server and sets ALLOT_BASE_URL.
const { defineConfig } = require('@playwright/test');

const baseURL = process.env.ALLOT_BASE_URL || 'http://127.0.0.1:8080';
const executablePath = process.env.ALLOT_CHROMIUM || '/usr/bin/chromium';

module.exports = defineConfig({
  testDir: '.',
  testMatch: '**/*.spec.js',
  outputDir: 'test-results',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 30_000,
  expect: { timeout: 5_000 },
  reporter: [['list']],
  use: {
    baseURL,
    headless: true,
    screenshot: 'only-on-failure',
    trace: 'off',
    video: 'off',
    launchOptions: {
      executablePath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
});
