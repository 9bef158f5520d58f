// Lists that search, count and sort (issue 15): billing support finds a request in the
// support console's queue by a word and by its number; a Contoso admin sorts the audit log
// by clicking its column headers. Changes nothing, so it runs anywhere in the suite.
const { test, expect } = require('@playwright/test');
const { signIn } = require('./helpers');

const SUPPORT = 'support@allot.example';
const ADMIN = 'admin@contoso.example';

test('billing support finds a request in the queue by a word and by its number', async ({ page }) => {
  await signIn(page, SUPPORT);
  await page.goto('/support');
  await expect(page.getByRole('heading', { level: 1, name: 'Service requests', exact: true })).toBeVisible();
  await expect(page.locator('.list-total')).toHaveText(/^\d[\d,]* service requests?$/);

  // A word of the demo's Fabrikam question, in another case.
  const search = page.getByRole('searchbox', { name: 'Search', exact: true });
  await search.fill('OCTOBER BILL');
  await page.getByRole('button', { name: 'Apply', exact: true }).click();
  await expect(page).toHaveURL(/q=OCTOBER\+BILL/);
  const table = page.getByRole('table', { name: 'Service requests' });
  const rows = table.locator('tbody tr');
  await expect(rows).toHaveCount(1);
  await expect(page.locator('.list-total')).toHaveText('1 service request');
  await expect(rows.first()).toContainText('Fabrikam');
  const number = (await rows.first().getByRole('link').first().textContent()).trim();
  expect(number).toMatch(/^#\d+$/);

  // The number as the page shows it, then as staff say it.
  for (const asked of [number, `SR-${number.slice(1)}`]) {
    await page.getByRole('searchbox', { name: 'Search', exact: true }).fill(asked);
    await page.getByRole('button', { name: 'Apply', exact: true }).click();
    await expect(rows.first().getByRole('link', { name: number, exact: true })).toBeVisible();
    await expect(page.getByRole('searchbox', { name: 'Search', exact: true })).toHaveValue(asked);
  }

  // Nothing matches: the total says so, and the page says why there is no table.
  await page.getByRole('searchbox', { name: 'Search', exact: true }).fill('no request says this 100%_');
  await page.getByRole('button', { name: 'Apply', exact: true }).click();
  await expect(page.locator('.list-total')).toHaveText('0 service requests');
  await expect(page.getByText('No service requests match.', { exact: true })).toBeVisible();
});

test('the queue sorts by number from its header, keeping the search', async ({ page }) => {
  await signIn(page, SUPPORT);
  await page.goto('/support?q=a');
  await page.getByRole('link', { name: 'Number', exact: true }).click();
  await expect(page).toHaveURL(/q=a&sort=number&order=asc/);
  const header = page.getByRole('columnheader', { name: /Number/ });
  await expect(header).toHaveAttribute('aria-sort', 'ascending');
  const numbers = async () =>
    (await page.locator('tbody tr td:first-child a').allTextContents()).map((t) => Number(t.trim().slice(1)));
  const up = await numbers();
  expect(up).toEqual([...up].sort((a, b) => a - b));
  await page.getByRole('link', { name: /^Number/ }).click();
  await expect(header).toHaveAttribute('aria-sort', 'descending');
  const down = await numbers();
  expect(down).toEqual([...up].reverse());
});

test('an admin sorts the audit log by clicking its headers', async ({ page }) => {
  await signIn(page, ADMIN);
  await page.goto('/settings/audit-log');
  await expect(page.getByRole('heading', { level: 1, name: 'Audit log', exact: true })).toBeVisible();
  await expect(page.locator('.list-total')).toHaveText(/^\d[\d,]* entr(y|ies)$/);
  const table = page.getByRole('table', { name: 'Audit log entries' });
  await expect(table.getByRole('columnheader', { name: /When/ })).toHaveAttribute('aria-sort', 'descending');

  const actions = () => table.locator('tbody tr th[scope="row"]').allTextContents();
  await table.getByRole('link', { name: 'Action', exact: true }).click();
  await expect(page).toHaveURL(/sort=action&order=asc/);
  await expect(table.getByRole('columnheader', { name: /Action/ })).toHaveAttribute('aria-sort', 'ascending');
  await expect(table.getByRole('columnheader', { name: /When/ })).not.toHaveAttribute('aria-sort', /.+/);
  const up = await actions();
  await table.getByRole('link', { name: /^Action/ }).click();
  await expect(page).toHaveURL(/sort=action&order=desc/);
  await expect(table.getByRole('columnheader', { name: /Action/ })).toHaveAttribute('aria-sort', 'descending');
  const down = await actions();
  expect(down[0]).not.toEqual(up[0]);

  // Back to newest first: the When header.
  await table.getByRole('link', { name: 'When', exact: true }).click();
  await expect(page).toHaveURL(/sort=when&order=asc/);
  await expect(table.getByRole('columnheader', { name: /When/ })).toHaveAttribute('aria-sort', 'ascending');
});

test('an admin sorts Your products by licenses from its header, both ways', async ({ page }) => {
  await signIn(page, ADMIN);
  await page.goto('/billing/products');
  await expect(page.getByText(/^\d+ subscriptions?$/)).toBeVisible();
  const table = page.getByRole('table', { name: 'Subscriptions' });
  const licenses = async () =>
    Promise.all(
      (await table.getByRole('row').filter({ has: page.getByRole('rowheader') }).all()).map(async (row) =>
        Number((await row.getByRole('cell').first().textContent()).trim()),
      ),
    );
  await table.getByRole('link', { name: 'Licenses', exact: true }).click();
  await expect(page).toHaveURL(/sort=licenses&order=asc/);
  await expect(table.getByRole('columnheader', { name: /Licenses/ })).toHaveAttribute('aria-sort', 'ascending');
  const up = await licenses();
  expect(up.length).toBeGreaterThan(1);
  expect(up).toEqual([...up].sort((a, b) => a - b));
  await table.getByRole('link', { name: /^Licenses/ }).click();
  await expect(page).toHaveURL(/sort=licenses&order=desc/);
  await expect(table.getByRole('columnheader', { name: /Licenses/ })).toHaveAttribute('aria-sort', 'descending');
  const down = await licenses();
  expect(down).toEqual([...up].sort((a, b) => b - a));
});

test("an admin sorts a product's assigned users by sign-in name from its header, both ways", async ({ page }) => {
  await signIn(page, ADMIN);
  await page.goto('/licenses');
  await page.getByRole('link', { name: 'Business Premium', exact: true }).first().click();
  await expect(page.getByRole('heading', { level: 1, name: 'Business Premium' })).toBeVisible();
  await expect(page.getByText(/^\d+ assigned users?$/)).toBeVisible();
  const table = page.getByRole('table', { name: 'Users assigned Business Premium' });
  await expect(table.getByRole('columnheader', { name: /Display name/ })).toHaveAttribute('aria-sort', 'ascending');
  const emails = async () =>
    Promise.all(
      (await table.getByRole('row').filter({ has: page.getByRole('rowheader') }).all()).map(async (row) =>
        (await row.getByRole('cell').nth(1).textContent()).trim(),
      ),
    );
  await table.getByRole('link', { name: 'Sign-in name', exact: true }).click();
  await expect(page).toHaveURL(/sort=email&order=asc/);
  await expect(table.getByRole('columnheader', { name: /Sign-in name/ })).toHaveAttribute('aria-sort', 'ascending');
  const up = await emails();
  expect(up.length).toBeGreaterThan(1);
  expect(up).toEqual([...up].sort());
  // The export follows the order shown.
  await expect(page.getByRole('link', { name: 'Export users' })).toHaveAttribute('href', /sort=email&order=asc/);
  await table.getByRole('link', { name: /^Sign-in name/ }).click();
  await expect(page).toHaveURL(/sort=email&order=desc/);
  await expect(table.getByRole('columnheader', { name: /Sign-in name/ })).toHaveAttribute('aria-sort', 'descending');
  expect(await emails()).toEqual([...up].reverse());
});
