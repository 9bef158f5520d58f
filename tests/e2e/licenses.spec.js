// Billing > Licenses: a product's page, Unassign licenses, Assign licenses, who may do it,
// and self-service purchases with Take over. Demo data (`allot serve --demo`).
//
// All spec files share one demo server, so each test here uses its own users, reads the
// counts before it acts and checks the change relative to them, and gives back the
// licenses it moved (other specs read the demo's counts).
//
// Users touched here, and nowhere else in the browser tests:
//   Diego Siciliani (user08), Emily Braun (user09): Business Premium unassigned, then back
//   Mariya Ivanova (user21), Miriam Graham (user22): Sales Professional assigned, then removed
//   Nestor Wilke (user23): Sales Professional by the License admin, then removed
//   Patti Fernandez (user24): Project Plan 3 after Take over, then removed
const { test, expect } = require('@playwright/test');
const {
  signIn,
  licenseCounts,
  licensesRow,
  productCounts,
  openProduct,
  openUser,
  datesAround,
  unassignOnProductPage,
  assignOnProductPage,
} = require('./helpers');

const ADMIN = 'admin@contoso.example';
const LICENSE_ADMIN = 'licenses@contoso.example';
const BILLING_ADMIN = 'billing@contoso.example';
const PREMIUM = 'Business Premium';
const SALES = 'Sales Professional';
const PROJECT = 'Project Plan 3';

function dateAlternatives(days) {
  return new RegExp(datesAround(days).map((d) => d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'));
}

test('unassign licenses from two users on the product page', async ({ page }) => {
  const [first, second] = ['Diego Siciliani', 'Emily Braun'];
  await signIn(page, ADMIN);
  const before = await licenseCounts(page, PREMIUM);

  // Licenses > Business Premium.
  await licensesRow(page, PREMIUM).getByRole('link', { name: PREMIUM, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: PREMIUM, exact: true })).toBeVisible();
  const holders = page.getByRole('table', { name: `Users assigned ${PREMIUM}` });
  await expect(holders.getByRole('link', { name: first, exact: true })).toBeVisible();
  await expect(holders.getByRole('link', { name: second, exact: true })).toBeVisible();

  await page.getByRole('checkbox', { name: `Select ${first}`, exact: true }).check();
  await page.getByRole('checkbox', { name: `Select ${second}`, exact: true }).check();
  await page.getByRole('button', { name: 'Unassign licenses', exact: true }).click();

  // The confirmation names both users and says what happens to their data.
  await expect(page.getByRole('heading', { level: 1, name: 'Unassign licenses', exact: true })).toBeVisible();
  const main = page.getByRole('main');
  await expect(main.getByRole('listitem').filter({ hasText: first })).toHaveCount(1);
  await expect(main.getByRole('listitem').filter({ hasText: second })).toHaveCount(1);
  await expect(main).toContainText(`${PREMIUM}: 2 users`);
  await expect(main.getByText(/kept for 30 days, until/)).toContainText(dateAlternatives(30));

  await page.getByRole('button', { name: 'Unassign', exact: true }).click();

  // Back on the product page, with a status message; the two are gone.
  await expect(page).toHaveURL(/\/licenses\/\d+$/);
  await expect(page.getByRole('heading', { level: 1, name: PREMIUM, exact: true })).toBeVisible();
  await expect(page.getByRole('status')).toContainText('Unassigned licenses from 2 users.');
  await expect(page.getByRole('status')).toContainText(dateAlternatives(30));
  await expect(page.getByRole('checkbox', { name: `Select ${first}`, exact: true })).toHaveCount(0);
  await expect(page.getByRole('checkbox', { name: `Select ${second}`, exact: true })).toHaveCount(0);
  expect(await productCounts(page)).toEqual({
    licenses: before.licenses,
    assigned: before.assigned - 2,
    available: before.available + 2,
  });

  // The Licenses page: 2 fewer assigned, 2 more available.
  const after = await licenseCounts(page, PREMIUM);
  expect(after).toEqual({
    licenses: before.licenses,
    assigned: before.assigned - 2,
    available: before.available + 2,
  });

  // The user's page says the data is kept.
  await openUser(page, first);
  await expect(page.getByRole('checkbox', { name: PREMIUM, exact: true })).not.toBeChecked();
  await expect(page.getByRole('region', { name: 'Licenses and apps' })).toContainText(
    new RegExp(`${PREMIUM}: kept until (${datesAround(30).join('|')})`),
  );

  // Give the licenses back.
  await assignOnProductPage(page, PREMIUM, [first, second]);
  expect(await licenseCounts(page, PREMIUM)).toEqual(before);
});

test('assigning to more users than there are licenses available is refused and changes nothing', async ({ page }) => {
  await signIn(page, ADMIN);
  const before = await licenseCounts(page, PREMIUM);

  await openProduct(page, PREMIUM);
  await page.getByRole('link', { name: 'Assign licenses', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Assign licenses', exact: true })).toBeVisible();
  await expect(page.getByRole('main')).toContainText(
    `${before.available} of ${before.licenses} licenses available`,
  );

  // One more user than there are licenses left.
  const wanted = before.available + 1;
  const boxes = page.getByRole('table', { name: `Users without ${PREMIUM}` }).getByRole('checkbox', { name: /^Select (?!all$)/ });
  expect(await boxes.count()).toBeGreaterThanOrEqual(wanted);
  for (let i = 0; i < wanted; i++) await boxes.nth(i).check();
  const response = page.waitForResponse((r) => r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Assign', exact: true }).click();
  expect((await response).status()).toBe(409);

  await expect(page.getByRole('heading', { level: 1, name: 'Assign licenses', exact: true })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText(
    `You selected ${wanted} users, but only ${before.available} ${PREMIUM} licenses are available. Nothing was assigned.`,
  );
  // Nothing to confirm: no Assign button.
  await expect(page.getByRole('button', { name: 'Assign', exact: true })).toHaveCount(0);

  expect(await licenseCounts(page, PREMIUM)).toEqual(before);
});

test('assigning within the available licenses: the counts agree everywhere', async ({ page }) => {
  const names = ['Mariya Ivanova', 'Miriam Graham'];
  await signIn(page, ADMIN);
  const before = await licenseCounts(page, SALES);
  expect(before.available).toBeGreaterThanOrEqual(names.length);

  await openProduct(page, SALES);
  await page.getByRole('link', { name: 'Assign licenses', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Assign licenses', exact: true })).toBeVisible();
  for (const name of names) await page.getByRole('checkbox', { name: `Select ${name}`, exact: true }).check();
  await page.getByRole('button', { name: 'Assign', exact: true }).click();

  // The confirmation: who, and how many remain.
  await expect(page.getByRole('heading', { level: 1, name: 'Assign licenses', exact: true })).toBeVisible();
  const main = page.getByRole('main');
  for (const name of names) await expect(main.getByRole('listitem').filter({ hasText: name })).toHaveCount(1);
  const remain = before.available - names.length;
  await expect(main).toContainText(`${before.available} licenses are available; ${remain} will remain after this.`);
  await page.getByRole('button', { name: 'Assign', exact: true }).click();

  // The product page.
  await expect(page.getByRole('heading', { level: 1, name: SALES, exact: true })).toBeVisible();
  await expect(page.getByRole('status')).toContainText(`Assigned ${SALES} licenses to 2 users.`);
  const holders = page.getByRole('table', { name: `Users assigned ${SALES}` });
  for (const name of names) await expect(holders.getByRole('link', { name, exact: true })).toBeVisible();
  const expected = { licenses: before.licenses, assigned: before.assigned + 2, available: remain };
  expect(await productCounts(page)).toEqual(expected);

  // The Licenses page.
  expect(await licenseCounts(page, SALES)).toEqual(expected);

  // Each user's page.
  for (const name of names) {
    await openUser(page, name);
    await expect(page.getByRole('checkbox', { name: SALES, exact: true })).toBeChecked();
    await expect(page.getByRole('group', { name: 'Licenses' })).toContainText(
      `${remain} of ${before.licenses} licenses available`,
    );
  }

  // Give them back.
  await unassignOnProductPage(page, SALES, names);
  expect(await licenseCounts(page, SALES)).toEqual(before);
});

test('a License admin assigns and unassigns licenses', async ({ page }) => {
  const name = 'Nestor Wilke';
  await signIn(page, LICENSE_ADMIN);
  await expect(page.getByRole('heading', { level: 1, name: 'Home', exact: true })).toBeVisible();
  const before = await licenseCounts(page, SALES);

  await assignOnProductPage(page, SALES, [name]);
  await expect(
    page.getByRole('table', { name: `Users assigned ${SALES}` }).getByRole('link', { name, exact: true }),
  ).toBeVisible();
  expect(await licenseCounts(page, SALES)).toEqual({
    licenses: before.licenses,
    assigned: before.assigned + 1,
    available: before.available - 1,
  });

  await unassignOnProductPage(page, SALES, [name]);
  await expect(page.getByRole('checkbox', { name: `Select ${name}`, exact: true })).toHaveCount(0);
  expect(await licenseCounts(page, SALES)).toEqual(before);
});

test('a Billing admin sees who has a product but cannot assign or unassign', async ({ page }) => {
  await signIn(page, BILLING_ADMIN);
  await expect(page.getByRole('heading', { level: 1, name: 'Home', exact: true })).toBeVisible();
  await openProduct(page, PREMIUM);

  // The holders are listed…
  const holders = page.getByRole('table', { name: `Users assigned ${PREMIUM}` });
  await expect(holders.getByRole('link', { name: 'Alex Wilber', exact: true })).toBeVisible();
  // …but there is nothing to act with.
  await expect(page.getByRole('link', { name: 'Assign licenses', exact: true })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Assign licenses', exact: true })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Unassign licenses', exact: true })).toHaveCount(0);
  await expect(page.getByRole('checkbox')).toHaveCount(0);
});

test('a self-service purchase: admins cannot assign from it until they take it over', async ({ page }) => {
  const newcomer = 'Patti Fernandez';
  await signIn(page, ADMIN);
  await page.goto('/licenses');
  const row = licensesRow(page, PROJECT);
  await expect(row).toHaveCount(1);
  const selfService = /Self-service purchase/;
  if (!selfService.test(await row.innerText())) {
    test.skip(true, `${PROJECT} was already taken over (by an earlier spec on this server); nothing to take over`);
  }
  await expect(row).toContainText('Self-service purchase by user07@contoso.example');

  // Its page explains why an admin can't assign or unassign, and offers Take over.
  await row.getByRole('link', { name: PROJECT, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: PROJECT, exact: true })).toBeVisible();
  await expect(page.getByRole('note')).toContainText(
    "As an admin, you can't assign or unassign licenses for a self-service purchase subscription",
  );
  await expect(page.getByRole('link', { name: 'Assign licenses', exact: true })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Unassign licenses', exact: true })).toHaveCount(0);
  await expect(page.getByRole('checkbox')).toHaveCount(0);
  await expect(
    page.getByRole('table', { name: `Users assigned ${PROJECT}` }).getByRole('link', { name: 'Debra Berger', exact: true }),
  ).toBeVisible();

  // Take over.
  await page.getByRole('button', { name: 'Take over', exact: true }).click();
  await expect(page).toHaveURL(/\/licenses$/);
  await expect(page.getByRole('status')).toContainText(`You took over the ${PROJECT} subscription.`);

  // Now an ordinary pool: no self-service mark, and licenses can be assigned from it.
  const before = await licenseCounts(page, PROJECT);
  await expect(licensesRow(page, PROJECT)).not.toContainText(selfService);
  expect(before.licenses).toBe(2);
  expect(before.available).toBeGreaterThanOrEqual(1);

  await openProduct(page, PROJECT);
  await expect(page.getByRole('note')).toHaveCount(0);
  await expect(page.getByRole('checkbox', { name: 'Select Debra Berger', exact: true })).toBeVisible();
  await assignOnProductPage(page, PROJECT, [newcomer]);
  await expect(
    page.getByRole('table', { name: `Users assigned ${PROJECT}` }).getByRole('link', { name: newcomer, exact: true }),
  ).toBeVisible();
  expect(await licenseCounts(page, PROJECT)).toEqual({
    licenses: before.licenses,
    assigned: before.assigned + 1,
    available: before.available - 1,
  });

  // Give it back.
  await unassignOnProductPage(page, PROJECT, [newcomer]);
  expect(await licenseCounts(page, PROJECT)).toEqual(before);
});

test('Select all checks every assigned user on the page (a script enhancement)', async ({ page }) => {
  await signIn(page, ADMIN);
  await openProduct(page, PREMIUM);
  const table = page.getByRole('table', { name: `Users assigned ${PREMIUM}` });
  await table.getByRole('checkbox', { name: 'Select all', exact: true }).check();
  const boxes = table.getByRole('checkbox', { name: /^Select (?!all$)/ });
  const n = await boxes.count();
  expect(n).toBeGreaterThan(1);
  for (let i = 0; i < n; i++) await expect(boxes.nth(i)).toBeChecked();
  await table.getByRole('checkbox', { name: 'Select all', exact: true }).uncheck();
  for (let i = 0; i < n; i++) await expect(boxes.nth(i)).not.toBeChecked();
});

test('Unassign licenses with nobody selected is answered next to the table', async ({ page }) => {
  await signIn(page, ADMIN);
  await openProduct(page, PREMIUM);
  const before = await page.getByRole('table', { name: `Users assigned ${PREMIUM}` }).getByRole('row').count();
  await page.getByRole('button', { name: 'Unassign licenses', exact: true }).click();
  await expect(page.getByRole('alert')).toHaveText('Select the users whose licenses you want to unassign.');
  await expect(page.getByRole('heading', { level: 1, name: PREMIUM })).toBeVisible();
  await expect(page.getByRole('table', { name: `Users assigned ${PREMIUM}` }).getByRole('row')).toHaveCount(before);
});
