// Volume licensing, as seed 002 walks it: the partner enters an order on Contoso's Enterprise
// Agreement, the OSM (admin@contoso.example) follows the activation link, signs in, sees the
// data-loss warning, attaches the licenses, and the Licenses page pools them with the direct
// subscriptions, which stay until billing support carries out a "Cancel subscription" request.
// Then a remap is refused while the agreement holds online services licenses.
//
// Runs last on the shared demo server: it attaches the agreement to Contoso and cancels
// Contoso's direct Sales Professional subscription, which no later spec needs.
const { test, expect } = require('@playwright/test');
const { signIn, signOut, licenseCounts, detailValue } = require('./helpers');

const ADMIN = 'admin@contoso.example';
const PARTNER = 'partner@allot.example';
const SUPPORT = 'support@allot.example';
const PREMIUM = 'Business Premium';
const SALES = 'Sales Professional';
const EA = 'EA-7730-1001';

test.describe.configure({ mode: 'serial' });

function nav(page) {
  return page.getByRole('navigation', { name: 'Admin center' });
}

/** As billing support: the newest activation email's link for the agreement, from the Outbox. */
async function activationLink(page) {
  await signIn(page, SUPPORT);
  await nav(page).getByRole('link', { name: 'Outbox', exact: true }).click();
  const row = page
    .getByRole('table', { name: 'Emails' })
    .getByRole('row')
    .filter({ hasText: `Activate your Enterprise Agreement ${EA}` })
    .first();
  await expect(row).toContainText(ADMIN);
  await row.getByText(`Activate your Enterprise Agreement ${EA}`).click();
  const href = await row.getByRole('link', { name: 'Open the link', exact: true }).getAttribute('href');
  await signOut(page);
  return href;
}

test('the partner enters an order, the OSM activates it and the licenses pool; the direct subscription stays until cancelled', async ({ page }) => {
  test.setTimeout(90_000);
  await signIn(page, ADMIN);
  const premium = await licenseCounts(page, PREMIUM);
  const sales = await licenseCounts(page, SALES);
  await signOut(page);

  // The partner adds a license reservation of 5 Business Premium licenses.
  await signIn(page, PARTNER);
  await nav(page).getByRole('link', { name: 'Agreements', exact: true }).click();
  await page.getByRole('table', { name: 'Volume licensing agreements' }).getByRole('link', { name: EA, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Agreement ${EA}` })).toBeVisible();
  expect(await detailValue(page, 'Attached to')).toBe('Awaiting activation by the OSM');
  await page.getByRole('radio', { name: 'License reservation', exact: true }).check();
  await page.getByLabel(`${PREMIUM} licenses`, { exact: true }).fill('5');
  await page.getByRole('button', { name: 'Enter order', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('The license reservation is added');
  const holds = page.getByRole('list', { name: `Licenses and add-ons of ${EA}` });
  await expect(holds).toContainText(`5 ${PREMIUM} licenses`);
  await expect(holds).toContainText(`20 ${SALES} licenses`);
  await signOut(page);

  // The OSM follows the newest activation link: signed out, it asks to sign in first.
  const link = await activationLink(page);
  expect(link).toMatch(/^\/agreements\/activate\/[0-9a-f]{64}$/);
  await page.goto(link);
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in', exact: true })).toBeVisible();
  await page.getByLabel('Email', { exact: true }).fill(ADMIN);
  await page.getByLabel('Password', { exact: true }).fill('allot-demo');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Activate agreement ${EA}` })).toBeVisible();

  // The order holds fewer Business Premium licenses than the direct subscriptions: a warning.
  const warning = page.getByRole('alert');
  await expect(warning).toContainText('Data may be lost.');
  await expect(warning).toContainText(`You have ${premium.licenses} ${PREMIUM} licenses now; this agreement holds 5.`);
  await expect(warning).toContainText(`You have 1 additional production instances for ${SALES} now; this agreement holds 0.`);
  await page.getByRole('button', { name: 'Attach to Contoso', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Agreement attached', exact: true })).toBeVisible();
  await expect(page.getByRole('note')).toContainText('not cancelled');

  // The Licenses page pools them.
  expect(await licenseCounts(page, PREMIUM)).toEqual({
    licenses: premium.licenses + 5,
    assigned: premium.assigned,
    available: premium.available + 5,
  });
  expect(await licenseCounts(page, SALES)).toEqual({
    licenses: sales.licenses + 20,
    assigned: sales.assigned,
    available: sales.available + 20,
  });
  // Your products: the agreement's subscriptions beside the direct ones, which stay.
  await nav(page).getByRole('link', { name: 'Your products', exact: true }).click();
  const salesRows = page.getByRole('table', { name: 'Subscriptions' }).getByRole('row').filter({
    has: page.getByRole('link', { name: SALES, exact: true }),
  });
  await expect(salesRows.filter({ hasText: 'Volume licensing' })).toHaveCount(1);
  const direct = salesRows.filter({ hasText: 'Invoice' }).filter({ hasText: 'Active' });
  await expect(direct).toHaveCount(1);

  // The seed's step 3: a Cancel subscription request for the direct subscription.
  await direct.getByRole('link', { name: SALES, exact: true }).click();
  const directId = new URL(page.url()).pathname.split('/').pop();
  await page.goto(`/support/requests/new?kind=cancel_subscription&subscription=${directId}`);
  await expect(page.getByLabel('Request type', { exact: true })).toHaveValue('cancel_subscription');
  await expect(page.getByLabel('Subscription', { exact: true })).toHaveValue(directId);
  await page.getByLabel('Problem description', { exact: true }).fill('We now have these licenses through our Enterprise Agreement: please cancel the direct subscription.');
  await page.getByRole('button', { name: 'Submit', exact: true }).click();
  const request = new URL(page.url()).pathname;
  await signOut(page);

  await signIn(page, SUPPORT);
  await page.goto(request);
  await page.getByRole('button', { name: 'Take', exact: true }).click();
  await page.getByRole('button', { name: 'Cancel the subscription', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('The subscription is cancelled');
  await signOut(page);

  await signIn(page, ADMIN);
  await page.goto(`/billing/subscriptions/${directId}`);
  expect(await detailValue(page, 'Status')).toBe('Cancelled');
  const after = await licenseCounts(page, SALES);
  // The agreement's 20 come in, the direct subscription's 15 go.
  expect(after.licenses).toBe(sales.licenses + 20 - 15);
  // Settings > Agreements shows it, with the reservation for the next true-up.
  await nav(page).getByRole('link', { name: 'Agreements', exact: true }).click();
  const main = page.getByRole('main');
  await expect(main).toContainText(`Enterprise Agreement ${EA}`);
  await expect(main).toContainText(`5 ${PREMIUM} licenses`);
  await expect(main.getByRole('heading', { name: 'Reservations since the last true-up' })).toBeVisible();
});

test('a remap is refused while the agreement holds online services licenses', async ({ page }) => {
  await signIn(page, ADMIN);
  await page.goto('/support/requests/new');
  await page.getByLabel('Request type', { exact: true }).selectOption({ label: 'Remap agreement' });
  await page.getByLabel('Agreement number', { exact: true }).fill(EA);
  await page.getByLabel('Organization to move the agreement to (its domain)', { exact: true }).fill('fabrikam.example');
  await page.getByLabel('Problem description', { exact: true }).fill('We attached the agreement to the wrong account.');
  await page.getByRole('button', { name: 'Submit', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText(`Remap agreement: ${EA} to fabrikam.example`);
  const request = new URL(page.url()).pathname;
  await signOut(page);

  await signIn(page, SUPPORT);
  await page.goto(request);
  await expect(page.getByRole('note').filter({ hasText: 'online services licenses' })).toContainText(
    `Agreement ${EA} can't be remapped`,
  );
  await expect(page.getByRole('button', { name: 'Remap agreement', exact: true })).toHaveCount(0);
});
