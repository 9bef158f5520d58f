// Shared helpers for allot's browser tests.
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

module.exports = {
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
};
