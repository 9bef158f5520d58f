// The service portal (/portal): what end users see with and without a license, its own
// session beside the admin center's, and a buyer's self-service purchase. Demo data
// (`allot serve --demo`).
//
// All spec files share one demo server, so each test here uses its own users and gives
// back what it moved.
//   Alex Wilber (user01): signs in to the portal (read only)
//   Tomasz Nowak (user30): unlicensed in the demo (read only)
//   Enrico Cattaneo (user10): Business Premium unassigned, then back
//   Debra Berger (user07): the Project Plan 3 buyer (read only)
const { test, expect } = require('@playwright/test');
const { signIn, signOut, portalSignIn, licensesRow, openUser, confirmUnassign } = require('./helpers');

const ADMIN = 'admin@contoso.example';
const PREMIUM = 'Business Premium';
const PROJECT = 'Project Plan 3';

async function expectProducts(page, products) {
  await expect(page).toHaveURL(/\/portal$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Your products', exact: true })).toBeVisible();
  const list = page.getByRole('list', { name: 'Your products' });
  for (const product of products) {
    await expect(list.getByRole('listitem').filter({ hasText: product })).toContainText('Ready to use');
  }
}

async function expectNoLicense(page) {
  await expect(page).toHaveURL(/\/portal$/);
  await expect(page.getByRole('heading', { level: 1, name: 'No license', exact: true })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText("You don't have a license to use the service.");
  await expect(page.getByRole('list', { name: 'Your products' })).toHaveCount(0);
}

test('a licensed user sees Your products', async ({ page }) => {
  await portalSignIn(page, 'user01@contoso.example');
  await expectProducts(page, [PREMIUM]);
  await expect(page.getByRole('main')).toContainText('Welcome, Alex Wilber.');
  await expect(page.getByRole('main')).toContainText('Contoso');
  // No admin-center navigation in the portal.
  await expect(page.getByRole('navigation', { name: 'Admin center' })).toHaveCount(0);
});

test('an unlicensed user sees No license and which admins to ask', async ({ page }) => {
  await portalSignIn(page, 'user30@contoso.example');
  await expectNoLicense(page);
  await expect(page.getByRole('alert')).toContainText("Contoso hasn't assigned you a license");

  const ask = page.getByRole('region', { name: 'Who can give you a license' });
  await expect(ask).toContainText('Ask one of your admins');
  // The admins who may assign licenses: Global, License and User admins.
  for (const admin of ['admin@contoso.example', 'licenses@contoso.example', 'users@contoso.example']) {
    await expect(ask.getByRole('link', { name: admin, exact: true })).toHaveAttribute('href', `mailto:${admin}`);
  }
  // A Billing admin can't assign licenses, so isn't named.
  await expect(ask.getByRole('link', { name: 'billing@contoso.example', exact: true })).toHaveCount(0);
});

test('the portal follows license changes: access ends when the only license is unassigned and comes back with it', async ({ page, browser }) => {
  const name = 'Enrico Cattaneo';
  await portalSignIn(page, 'user10@contoso.example');
  await expectProducts(page, [PREMIUM]);

  const adminContext = await browser.newContext();
  try {
    const admin = await adminContext.newPage();
    await signIn(admin, ADMIN);

    // The admin clears the user's only license.
    await openUser(admin, name);
    const box = admin.getByRole('checkbox', { name: PREMIUM, exact: true });
    await expect(box).toBeChecked();
    await box.uncheck();
    await admin.getByRole('button', { name: 'Save changes', exact: true }).click();
    await confirmUnassign(admin, [name], PREMIUM);
    await expect(admin.getByRole('status')).toContainText('Saved changes: 0 assigned, 1 unassigned.');

    // The user, still signed in, now has no access.
    await page.reload();
    await expectNoLicense(page);

    // The admin gives it back.
    await admin.getByRole('checkbox', { name: PREMIUM, exact: true }).check();
    await admin.getByRole('button', { name: 'Save changes', exact: true }).click();
    await expect(admin.getByRole('status')).toContainText('Saved changes: 1 assigned, 0 unassigned.');

    await page.reload();
    await expectProducts(page, [PREMIUM]);
  } finally {
    await adminContext.close();
  }
});

test('signing out of the admin center leaves the portal signed in, and the reverse', async ({ page }) => {
  // Both, in one browser.
  await signIn(page, ADMIN);
  await expect(page.getByRole('heading', { level: 1, name: 'Home', exact: true })).toBeVisible();
  await portalSignIn(page, 'user01@contoso.example');
  await expectProducts(page, [PREMIUM]);

  // Sign out of the admin center.
  await page.goto('/');
  await signOut(page);
  await expect(page).toHaveURL(/\/signin(\?|$)/);
  await page.goto('/licenses');
  await expect(page).toHaveURL(/\/signin(\?|$)/);
  // The portal is still open.
  await page.goto('/portal');
  await expectProducts(page, [PREMIUM]);

  // The reverse: sign in to the admin center again, sign out of the portal.
  await signIn(page, ADMIN);
  await expect(page.getByRole('heading', { level: 1, name: 'Home', exact: true })).toBeVisible();
  await page.goto('/portal');
  await expectProducts(page, [PREMIUM]);
  await signOut(page);
  await expect(page).toHaveURL(/\/portal\/signin$/);
  await expect(page.getByRole('status')).toContainText('You have signed out of the service.');
  await page.goto('/portal');
  await expect(page).toHaveURL(/\/portal\/signin$/);
  // The admin center is still open.
  await page.goto('/licenses');
  await expect(page.getByRole('heading', { level: 1, name: 'Licenses', exact: true })).toBeVisible();
});

test("the buyer of a self-service purchase sees it under Your purchases until an admin takes it over", async ({ page, browser }) => {
  // Whether Project Plan 3 is still a self-service purchase depends on whether an earlier
  // spec took it over: ask the admin center, then expect the portal to agree.
  const adminContext = await browser.newContext();
  let selfService;
  try {
    const admin = await adminContext.newPage();
    await signIn(admin, ADMIN);
    await admin.goto('/licenses');
    const row = licensesRow(admin, PROJECT);
    await expect(row).toHaveCount(1);
    selfService = /Self-service purchase/.test(await row.innerText());
  } finally {
    await adminContext.close();
  }
  test.info().annotations.push({
    type: 'state',
    description: selfService ? `${PROJECT} is a self-service purchase` : `${PROJECT} was taken over earlier`,
  });

  await portalSignIn(page, 'user07@contoso.example');
  // Debra Berger uses the product either way.
  await expectProducts(page, [PREMIUM, PROJECT]);
  const purchases = page.getByRole('region', { name: 'Your purchases' });
  if (!selfService) {
    await expect(purchases).toHaveCount(0);
    return;
  }
  await expect(purchases.getByRole('listitem').filter({ hasText: PROJECT })).toContainText(/\d+ of 2 licenses assigned/);
  await purchases.getByRole('link', { name: PROJECT, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: PROJECT, exact: true })).toBeVisible();
  await expect(page.getByRole('main')).toContainText(/Your self-service purchase: \d+ of 2 licenses assigned/);
  await expect(
    page.getByRole('table', { name: "Users with this purchase's licenses" }).getByRole('rowheader', { name: 'Debra Berger' }),
  ).toBeVisible();
});
