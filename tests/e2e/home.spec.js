// Home as a dashboard: usage per product that agrees with the Licenses page, Buy licenses,
// renewals, the 90-day trend with its table, and what a License admin is not shown.
// Read only: it changes nothing in the demo data other specs share.
const { test, expect } = require('@playwright/test');
const { signIn, licenseCounts } = require('./helpers');

const PREMIUM = 'Business Premium';

test('Home shows each product\'s usage as the Licenses page counts it, and Buy licenses opens its subscription', async ({ page }) => {
  await signIn(page, 'admin@contoso.example');
  const { licenses, assigned, available } = await licenseCounts(page, PREMIUM);
  await page.getByRole('link', { name: 'Home', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Home' })).toBeVisible();
  const usage = page.getByRole('region', { name: 'Licenses' });
  const premium = usage.getByRole('listitem').filter({ has: page.getByRole('link', { name: PREMIUM, exact: true }) });
  await expect(premium).toContainText(`${assigned} of ${licenses} assigned · ${available} available`);

  const renewals = page.getByRole('region', { name: 'Upcoming renewals' });
  await expect(renewals.getByRole('listitem').first()).toContainText(/\$[\d,]+\.\d\d on \d{4}-\d\d-\d\d/);

  await premium.getByRole('link', { name: `Buy licenses of ${PREMIUM}` }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'Buy licenses' })).toBeVisible();
  await expect(page.getByRole('heading', { level: 1 })).toContainText(PREMIUM);
});

test('the usage trend is a named drawing with the same figures as a table', async ({ page }) => {
  await signIn(page, 'admin@contoso.example');
  const { licenses, assigned } = await licenseCounts(page, PREMIUM);
  await page.goto('/');
  const trend = page.getByRole('region', { name: 'License usage, last 90 days' });
  const chart = trend.getByRole('img', { name: `${PREMIUM}: license usage over the last 90 days` });
  await expect(chart).toBeVisible();
  await trend.getByText(`Show as a table: ${PREMIUM}`).click();
  const table = trend.getByRole('table', { name: `${PREMIUM}: the days its counts changed` });
  await expect(table).toBeVisible();
  const last = table.getByRole('row').last();
  // The last day kept is today's (the jobs took it at the day's first run, or the demo did).
  await expect(last.getByRole('cell').nth(0)).toHaveText(String(assigned));
  await expect(last.getByRole('cell').nth(1)).toHaveText(String(licenses));
});

test('a License admin sees licenses and service requests on Home, but no money', async ({ page }) => {
  await signIn(page, 'licenses@contoso.example');
  await page.goto('/');
  await expect(page.getByRole('region', { name: 'Licenses' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Service requests' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Upcoming renewals' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: /Buy licenses/ })).toHaveCount(0);
});
