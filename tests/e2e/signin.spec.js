// Sign-in, sign-out and the first admin-center pages, with the demo data
// (`allot serve --demo`, password "allot-demo").
const { test, expect } = require('@playwright/test');
const { signIn, signOut } = require('./helpers');

const ADMIN = 'admin@contoso.example';
const SUPPORT = 'support@allot.example';

async function expectSignInPage(page) {
  await expect(page).toHaveURL(/\/signin(\?|$)/);
  await expect(page.getByRole('heading', { name: 'Sign in', exact: true })).toBeVisible();
}

/** The cells of a table row in column order (header cells included). */
function cellsOf(row) {
  return row.locator(':scope > th, :scope > td');
}

test('admin signs in, sees Home, and the Licenses page lists Business Premium', async ({ page }) => {
  await signIn(page, ADMIN);
  await expect(page.getByRole('heading', { level: 1, name: 'Home', exact: true })).toBeVisible();

  await page.getByRole('navigation').getByRole('link', { name: 'Licenses', exact: true }).click();
  await expect(page).toHaveURL(/\/licenses/);
  await expect(page.getByRole('heading', { name: 'Licenses', exact: true })).toBeVisible();

  const table = page.getByRole('table');
  // Column order: Product, Licenses, Assigned, Available.
  const headers = cellsOf(table.getByRole('row').first());
  await expect(headers.nth(0)).toHaveText(/Product/);
  await expect(headers.nth(1)).toHaveText(/Licenses/);
  await expect(headers.nth(2)).toHaveText(/Assigned/);
  await expect(headers.nth(3)).toHaveText(/Available/);

  const row = page.getByRole('row', { name: /Business Premium/ });
  await expect(row).toHaveCount(1);
  const cells = cellsOf(row);
  await expect(cells.nth(0)).toContainText('Business Premium');
  await expect(cells.nth(1)).toHaveText('13');
  await expect(cells.nth(2)).toHaveText('10');
  await expect(cells.nth(3)).toHaveText('3');
});

test('signing out closes the admin center', async ({ page }) => {
  await signIn(page, ADMIN);
  await expect(page.getByRole('heading', { level: 1, name: 'Home', exact: true })).toBeVisible();

  await signOut(page);
  await expectSignInPage(page);

  await page.goto('/licenses');
  await expectSignInPage(page);
  await expect(page.getByRole('heading', { name: 'Licenses', exact: true })).toHaveCount(0);
});

test('a wrong password is refused and stays on the sign-in page', async ({ page }) => {
  await signIn(page, ADMIN, 'not-the-password');
  await expect(page.getByText(/Wrong email or password/)).toBeVisible();
  await expectSignInPage(page);
  // The admin center stays closed.
  await page.goto('/licenses');
  await expectSignInPage(page);
});

test('a support engineer lands in the support console', async ({ page }) => {
  await signIn(page, SUPPORT);
  await expect(page.getByRole('heading', { name: 'Service requests', exact: true })).toBeVisible();
});

test.describe('phone width', () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test('Home has no horizontal scroll at 390px', async ({ page }) => {
    await signIn(page, ADMIN);
    await expect(page.getByRole('heading', { level: 1, name: 'Home', exact: true })).toBeVisible();
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(scrollWidth).toBeLessThanOrEqual(390);
  });
});
