// Add multiple users (Active users): a CSV of 500 users with licenses, one bad row and one
// row beyond the seats; the preview, Import with its progress bar, each row's outcome, and
// the passwords downloaded once.
//
// All spec files share one demo server, and 500 more users or licenses in Contoso would move
// what the other specs count (Active users' first page by sign-in name, the pools' counts).
// So this spec works in a tenant of its own, made for the run with `allot admin create`
// (a fresh domain each run), which buys the seats it imports into: Contoso and Fabrikam are
// not touched.
const { execFileSync } = require('node:child_process');
const { test, expect } = require('@playwright/test');
const { signIn, portalSignIn } = require('./helpers');

const PASSWORD = 'import-e2e-password';
const PRODUCT = 'Project Plan 3';
const ROWS = 500;
// 498 rows fit the seats; one has a bad email; the last one is beyond the seats.
const SEATS = ROWS - 2;
const BAD_ROW = 250; // the 250th user, row 251 of the file

/** A tenant and its Global admin, through the command line, as an operator makes them. */
function createTenant(name, email) {
  const bin = process.env.ALLOT_BIN;
  const dataDir = process.env.ALLOT_E2E_DATA_DIR;
  if (!bin || !dataDir) {
    throw new Error('import.spec.js needs ALLOT_BIN and ALLOT_E2E_DATA_DIR (scripts/test sets them)');
  }
  const env = { ...process.env, ALLOT_DATA_DIR: dataDir, ALLOT_PASSWORD: PASSWORD, RUST_LOG: 'warn' };
  delete env.DATABASE_URL;
  if (process.env.ALLOT_E2E_DATABASE_URL) env.DATABASE_URL = process.env.ALLOT_E2E_DATABASE_URL;
  let last = '';
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      return execFileSync(bin, ['admin', 'create', '--tenant', name, '--email', email, '--role', 'global'], {
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      // SQLite may be busy with the server's own work: try again.
      last = `${e.message}\n${e.stdout || ''}${e.stderr || ''}`;
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
  }
  throw new Error(`allot admin create did not run:\n${last}`);
}

/** The CSV: user NNN is import-e2e-NNN@domain with the product; one bad email. */
function buildCsv(domain) {
  const lines = ['Display name,Sign-in name,Licenses'];
  for (let i = 1; i <= ROWS; i++) {
    const n = String(i).padStart(3, '0');
    const email = i === BAD_ROW ? `import-e2e-${n}-at-${domain}` : `import-e2e-${n}@${domain}`;
    lines.push(`Import User ${n},${email},${PRODUCT}`);
  }
  return Buffer.from(lines.join('\r\n') + '\r\n', 'utf8');
}

function rowsTable(page) {
  return page.getByRole('table', { name: 'Rows of the file' });
}

/** The row of the file with row number `n`. */
function fileRow(page, n) {
  return rowsTable(page)
    .getByRole('row')
    .filter({ has: page.getByRole('rowheader', { name: String(n), exact: true }) });
}

test('import 500 users from a CSV: preview, progress, each row\'s outcome, passwords once', async ({ page, browser }) => {
  test.setTimeout(240_000);
  const stamp = Date.now().toString(36);
  const domain = `import-${stamp}.example`;
  const admin = `admin@${domain}`;
  createTenant(`Import ${stamp}`, admin);
  await signIn(page, admin, PASSWORD);

  // The seats: a card, then 498 licenses of Project Plan 3.
  await page.goto('/billing/payment-methods');
  await page.getByLabel('Name on card', { exact: true }).fill('Import Admin');
  await page.getByLabel('Card number', { exact: true }).fill('4242424242424242');
  await page.getByLabel('Expiry month', { exact: true }).fill('12');
  await page.getByLabel('Expiry year', { exact: true }).fill(String(new Date().getFullYear() + 3));
  await page.getByLabel('Security code', { exact: true }).fill('123');
  await page.getByRole('button', { name: 'Add card', exact: true }).click();
  await page.goto('/billing/buy');
  await page.getByRole('radio', { name: PRODUCT, exact: true }).check();
  await page.getByLabel('Licenses', { exact: true }).fill(String(SEATS));
  await page.getByRole('radio', { name: 'Monthly', exact: true }).check();
  await page.getByRole('button', { name: 'Buy', exact: true }).click();
  await page.getByRole('button', { name: 'Place order', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: PRODUCT, exact: true })).toBeVisible();

  // Active users > Add multiple users, with its sample.
  await page.goto('/users');
  await page.getByRole('link', { name: 'Add multiple users', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Add multiple users', exact: true })).toBeVisible();
  const [sample] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download a sample CSV', exact: true }).click(),
  ]);
  const sampleText = require('node:fs').readFileSync(await sample.path(), 'utf8');
  expect(sampleText.split('\r\n')[0]).toBe('Display name,Sign-in name,Licenses');
  expect(sampleText).toContain(`@${domain}`);

  // Preview: says per row what will happen, and creates nothing.
  await page.getByLabel('CSV file', { exact: true }).setInputFiles({
    name: 'new-staff.csv',
    mimeType: 'text/csv',
    buffer: buildCsv(domain),
  });
  await page.getByRole('button', { name: 'Preview', exact: true }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'Preview', exact: true })).toBeVisible();
  const importUrl = page.url();
  await expect(page.getByRole('status')).toHaveText(
    `${SEATS} users will be created, 2 rows will be skipped. Nothing has been created yet.`,
  );
  await expect(page.getByRole('columnheader', { name: 'What will happen', exact: true })).toBeVisible();
  await expect(fileRow(page, 2)).toContainText('import-e2e-001@');
  await expect(fileRow(page, 2).getByRole('cell').last()).toHaveText('Created');
  await expect(page.getByText('A row is all or nothing', { exact: false })).toBeVisible();
  await page.getByRole('link', { name: 'Only skipped rows', exact: true }).click();
  await expect(rowsTable(page).getByRole('rowheader')).toHaveCount(2);
  await expect(fileRow(page, BAD_ROW + 1).getByRole('cell').last()).toHaveText('Bad email');
  await expect(fileRow(page, ROWS + 1).getByRole('cell').last()).toHaveText(`Not enough licenses: ${PRODUCT}`);
  // Nobody yet.
  await page.goto('/users?q=import-e2e');
  await expect(page.getByText('No users match.')).toBeVisible();
  await page.goto(importUrl);

  // Import: a progress bar while it runs (the page reloads itself), then the result.
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  const progress = page.getByRole('progressbar', { name: new RegExp(`^Imported \\d+ of ${ROWS} rows$`) });
  await expect(progress).toBeVisible();
  expect(Number(await progress.getAttribute('max'))).toBe(ROWS);
  await expect(page.getByRole('heading', { level: 2, name: 'Done', exact: true })).toBeVisible({ timeout: 200_000 });
  await expect(page.getByRole('status')).toHaveText(
    `Imported ${ROWS} of ${ROWS} rows: ${SEATS} users created, 2 rows skipped.`,
  );
  await expect(page.getByRole('columnheader', { name: 'Outcome', exact: true })).toBeVisible();
  for (const n of [2, 3, 50, 101]) {
    await expect(fileRow(page, n).getByRole('cell').last()).toHaveText('Created');
  }
  await page.getByRole('link', { name: 'Only skipped rows', exact: true }).click();
  await expect(rowsTable(page).getByRole('rowheader')).toHaveCount(2);
  await expect(fileRow(page, BAD_ROW + 1).getByRole('cell').last()).toHaveText('Bad email');
  await expect(fileRow(page, ROWS + 1).getByRole('cell').last()).toHaveText(`Not enough licenses: ${PRODUCT}`);
  await page.getByRole('link', { name: 'All rows', exact: true }).click();
  await page.getByRole('link', { name: 'Next rows', exact: true }).click();
  await expect(fileRow(page, 102).getByRole('cell').last()).toHaveText('Created');

  // The users are there, licensed; the last row's user is not.
  await page.goto('/users?q=import-e2e-499');
  await expect(page.getByRole('table', { name: 'Active users' })).toContainText(PRODUCT);
  await page.goto('/users?q=import-e2e-500');
  await expect(page.getByText('No users match.')).toBeVisible();
  await page.goto(importUrl);

  // Download passwords (CSV), once.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download passwords (CSV)', exact: true }).click(),
  ]);
  const lines = require('node:fs').readFileSync(await download.path(), 'utf8').trim().split('\r\n');
  expect(lines[0]).toBe('Sign-in name,Password');
  expect(lines).toHaveLength(SEATS + 1);
  const [email, password] = lines[1].split(',');
  expect(email).toBe(`import-e2e-001@${domain}`);
  await page.reload();
  await expect(page.getByText('The passwords were downloaded on', { exact: false })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Download passwords (CSV)', exact: true })).toHaveCount(0);

  // The password works: the user signs in to the service portal.
  const context = await browser.newContext();
  const portal = await context.newPage();
  await portalSignIn(portal, email, password);
  await expect(portal).toHaveURL(/\/portal$/);
  await context.close();
});
