// Shared helpers for allot's browser tests.
const { execFileSync } = require('node:child_process');
const { expect } = require('@playwright/test');

const DEMO_PASSWORD = 'allot-demo';

/** Sign in through the sign-in form. Does not assert where it lands. */
async function signIn(page, email, password = DEMO_PASSWORD) {
  await page.goto('/signin');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Sign out with the "Sign out" button. */
async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
}

/** Sign in to the service portal (/portal/signin). Does not assert where it lands. */
async function portalSignIn(page, email, password = DEMO_PASSWORD) {
  await page.goto('/portal/signin');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/**
 * The one confirmation before licenses are taken from users (a user's Save changes, Manage
 * product licenses): checks it names each of `names` with `product`, and the data-hold or
 * loss of access, then confirms with its danger-styled Save changes.
 */
async function confirmUnassign(page, names, product) {
  await expect(page.getByRole('heading', { level: 1, name: 'Unassign licenses', exact: true })).toBeVisible();
  const listed = page.getByRole('list', { name: 'Licenses to remove' }).getByRole('listitem');
  await expect(listed).toHaveCount(names.length);
  for (const name of names) await expect(listed.filter({ hasText: name })).toContainText(product);
  await expect(page.getByRole('main')).toContainText(/is kept for 30 days, until|lose access to/);
  await page.getByRole('button', { name: 'Save changes', exact: true }).click();
}

/** Text of a cell or card as an integer (throws when it is not one). */
function toInt(text) {
  const n = Number.parseInt(String(text).trim(), 10);
  if (Number.isNaN(n)) throw new Error(`not a number: ${JSON.stringify(text)}`);
  return n;
}

/** The row of `productName` on the Licenses page (the page must be open). */
function licensesRow(page, productName) {
  return page
    .getByRole('table', { name: 'Licenses per product' })
    .getByRole('row')
    .filter({ has: page.getByRole('link', { name: productName, exact: true }) });
}

/**
 * Opens Billing > Licenses and reads the row of `productName`:
 * { licenses, assigned, available } as numbers.
 */
async function licenseCounts(page, productName) {
  await page.goto('/licenses');
  await expect(page.getByRole('heading', { level: 1, name: 'Licenses', exact: true })).toBeVisible();
  const row = licensesRow(page, productName);
  await expect(row).toHaveCount(1);
  const cells = row.getByRole('cell');
  const [licenses, assigned, available] = await Promise.all([0, 1, 2].map((i) => cells.nth(i).innerText()));
  return { licenses: toInt(licenses), assigned: toInt(assigned), available: toInt(available) };
}

/** On a product's page: the "License counts" cards as numbers. */
async function productCounts(page) {
  const cards = page.getByRole('list', { name: 'License counts' }).getByRole('listitem');
  const read = async (label) => {
    const text = await cards.filter({ hasText: new RegExp(`\\b${label}\\b`) }).innerText();
    return toInt(text.replace(label, ''));
  };
  return {
    licenses: await read('Licenses'),
    assigned: await read('Assigned'),
    available: await read('Available'),
  };
}

/** Opens Licenses and selects the product's link; lands on the product's page. */
async function openProduct(page, productName) {
  await page.goto('/licenses');
  await licensesRow(page, productName).getByRole('link', { name: productName, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: productName, exact: true })).toBeVisible();
}

/** Opens Active users, searches for `name` and selects that user's row; lands on the user's page. */
async function openUser(page, name) {
  await page.goto('/users');
  await page.getByRole('searchbox', { name: 'Search' }).fill(name);
  await page.getByRole('button', { name: 'Apply', exact: true }).click();
  await page.getByRole('table', { name: 'Active users' }).getByRole('link', { name, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name, exact: true })).toBeVisible();
}

/** A date as the pages write it: "January 5, 2026" (UTC). */
function longDate(date) {
  return date.toLocaleDateString('en-US', { month: 'long', day: 'numeric', year: 'numeric', timeZone: 'UTC' });
}

/** `days` days from now, as the pages write dates; both sides of midnight UTC are accepted. */
function datesAround(days) {
  const now = Date.now();
  const day = 24 * 60 * 60 * 1000;
  return [-1, 0, 1].map((d) => longDate(new Date(now + (days + d) * day)));
}

/**
 * On a product's page: selects `names` ("Select <name>"), "Unassign licenses", then "Unassign"
 * on the confirmation. Lands back on the product's page.
 */
async function unassignOnProductPage(page, productName, names) {
  await openProduct(page, productName);
  for (const name of names) await page.getByRole('checkbox', { name: `Select ${name}`, exact: true }).check();
  await page.getByRole('button', { name: 'Unassign licenses', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Unassign licenses', exact: true })).toBeVisible();
  await page.getByRole('button', { name: 'Unassign', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: productName, exact: true })).toBeVisible();
  await expect(page.getByRole('status')).toContainText(`Unassigned licenses from ${names.length}`);
}

/**
 * On a product's page: "Assign licenses", selects `names`, "Assign", then "Assign" on the
 * confirmation. Lands back on the product's page.
 */
async function assignOnProductPage(page, productName, names) {
  await openProduct(page, productName);
  await page.getByRole('link', { name: 'Assign licenses', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Assign licenses', exact: true })).toBeVisible();
  for (const name of names) await page.getByRole('checkbox', { name: `Select ${name}`, exact: true }).check();
  await page.getByRole('button', { name: 'Assign', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Assign licenses', exact: true })).toBeVisible();
  await page.getByRole('button', { name: 'Assign', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: productName, exact: true })).toBeVisible();
  await expect(page.getByRole('status')).toContainText(`Assigned ${productName} licenses to ${names.length}`);
}

/** The value shown for `term` in a definition list on the page (dt/dd), trimmed. */
async function detailValue(page, term) {
  const terms = page.getByRole('main').getByRole('term');
  const values = page.getByRole('main').getByRole('definition');
  const count = await terms.count();
  for (let i = 0; i < count; i++) {
    if ((await terms.nth(i).innerText()).trim() === term) return (await values.nth(i).innerText()).trim();
  }
  throw new Error(`no "${term}" on the page`);
}

/**
 * Runs `allot tick --now <iso>` against the e2e server's own database, as the scheduler
 * would at that time. scripts/test exports the binary (ALLOT_BIN) and the server's
 * environment (ALLOT_E2E_DATA_DIR, and ALLOT_E2E_DATABASE_URL on PostgreSQL). Retries while
 * another process (the server's own scheduler) holds the job lock. Returns the command's output.
 */
function runTick(iso) {
  const bin = process.env.ALLOT_BIN;
  const dataDir = process.env.ALLOT_E2E_DATA_DIR;
  if (!bin || !dataDir) {
    throw new Error(
      'runTick needs ALLOT_BIN (the allot binary) and ALLOT_E2E_DATA_DIR (the e2e server\'s ALLOT_DATA_DIR), ' +
        'plus ALLOT_E2E_DATABASE_URL when the server runs on PostgreSQL; scripts/test sets them',
    );
  }
  const env = { ...process.env, ALLOT_DATA_DIR: dataDir, RUST_LOG: 'warn' };
  delete env.DATABASE_URL;
  if (process.env.ALLOT_E2E_DATABASE_URL) env.DATABASE_URL = process.env.ALLOT_E2E_DATABASE_URL;
  let last = '';
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      last = execFileSync(bin, ['tick', '--now', iso], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      if (/Ran the scheduled jobs/.test(last)) return last;
    } catch (e) {
      // SQLite may be busy with the server's own tick: try again.
      last = `${e.message}\n${e.stdout || ''}${e.stderr || ''}`;
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
  }
  throw new Error(`allot tick --now ${iso} did not run:\n${last}`);
}

module.exports = {
  confirmUnassign,
  signIn,
  signOut,
  DEMO_PASSWORD,
  expect,
  portalSignIn,
  toInt,
  licensesRow,
  licenseCounts,
  productCounts,
  openProduct,
  openUser,
  longDate,
  datesAround,
  unassignOnProductPage,
  assignOnProductPage,
  detailValue,
  runTick,
};
