// Active users' search, totals, column headers and Select all N matching (issue 15).
// Demo data (`allot serve --demo`). Adds "Search Probe NN" users to pass a page of 50, and
// deletes them again at the end (they stay in Deleted users).
const { test, expect } = require('@playwright/test');
const { signIn } = require('./helpers');

const ADMIN = 'admin@contoso.example';

/** The number in Active users' total ("1,234 users"). */
async function total(page) {
  const text = await page.locator('#total').innerText();
  return Number(text.replace(/[^0-9]/g, ''));
}

async function search(page, q) {
  await page.goto('/users');
  await page.getByRole('searchbox', { name: 'Search' }).fill(q);
  await page.getByRole('button', { name: 'Apply', exact: true }).click();
  return page.getByRole('table', { name: 'Active users' });
}

test('a word in the middle of a name finds the user, and the total says how many', async ({ page }) => {
  await signIn(page, ADMIN);
  const table = await search(page, 'braun');
  await expect(table.getByRole('link', { name: 'Emily Braun', exact: true })).toBeVisible();
  await expect(table.getByRole('rowheader')).toHaveCount(1);
  await expect(page.locator('#total')).toHaveText('1 user');
  // Any case, and a word inside the sign-in name.
  await search(page, 'ER09@CONTOSO');
  await expect(page.getByRole('link', { name: 'Emily Braun', exact: true })).toBeVisible();
  await search(page, 'contoso');
  expect(await total(page)).toBeGreaterThan(40);
});

test('clicking a column header sorts by it, and again the other way round', async ({ page }) => {
  await signIn(page, ADMIN);
  await page.goto('/users');
  const name = page.getByRole('columnheader', { name: /Display name/ });
  await expect(name).toHaveAttribute('aria-sort', 'ascending');
  await name.getByRole('link').click();
  await expect(name).toHaveAttribute('aria-sort', 'descending');
  const names = await page.getByRole('table', { name: 'Active users' }).getByRole('rowheader').allInnerTexts();
  expect(names.length).toBeGreaterThan(10);
  const keys = names.map((n) => n.replace(/Sign-in blocked/, '').trim().toLowerCase());
  expect(keys).toEqual([...keys].sort().reverse());
  const email = page.getByRole('columnheader', { name: /Sign-in name/ });
  await email.getByRole('link').click();
  await expect(email).toHaveAttribute('aria-sort', 'ascending');
  await expect(name).not.toHaveAttribute('aria-sort', /.+/);
});

test('Select all N matching: Manage product licenses names the count, then Delete removes the added users', async ({ page }) => {
  test.setTimeout(120_000);
  await signIn(page, ADMIN);
  await page.goto('/users');
  const start = await total(page);
  const added = Math.max(0, 51 - start);
  for (let i = 0; i < added; i++) {
    await page.goto('/users/new');
    await page.getByLabel('Display name', { exact: true }).fill(`Search Probe ${String(i).padStart(2, '0')}`);
    await page.getByLabel('Sign-in name', { exact: true }).fill(`search.probe${i}@contoso.example`);
    await page.getByRole('button', { name: 'Add user', exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'User added', exact: true })).toBeVisible();
  }
  await page.goto('/users');
  const n = await total(page);
  expect(n).toBeGreaterThan(50);
  await page.getByRole('checkbox', { name: `Select all ${n.toLocaleString('en-US')} users matching` }).check();
  await page.getByRole('button', { name: 'Manage product licenses', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Manage product licenses', exact: true })).toBeVisible();
  await expect(page.getByText(`${n} users selected:`)).toBeVisible();
  await expect(page.getByText(`and ${n - 20} more`)).toBeVisible();
  await page.getByRole('link', { name: 'Cancel', exact: true }).click();

  if (added > 0) {
    // The probes, by a word of their names: all on one page, each box checked, then Delete.
    await search(page, 'rch prob');
    await expect(page.locator('#total')).toHaveText(added === 1 ? '1 user' : `${added} users`);
    for (const box of await page.getByRole('checkbox', { name: /^Select Search Probe/ }).all()) await box.check();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Delete users', exact: true })).toBeVisible();
    await page.getByRole('button', { name: /^Delete users?$/ }).click();
    await expect(page.locator('#total')).toHaveText(`${start} users`);
  }
});
