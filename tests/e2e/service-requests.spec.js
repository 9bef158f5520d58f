// Service requests, both sides: a Contoso admin files them under Support > Service requests
// (the seeds' "Support … Service Requests … Problem Description … Cancel subscription"), and
// billing support (support@allot.example) works them in the support console: takes them,
// replies, writes internal notes, carries out what they ask and resolves them.
//
// Runs on the shared demo server after billing, licenses and portal. Everything it does to
// Business Premium is given back: it buys its own 2-license Business Premium subscription,
// has billing support add 3 licenses to it, then has it cancelled, so later specs still find
// Business Premium at 13 licenses, 10 assigned. What stays behind: that cancelled
// subscription, its bills, and the requests.
const { test, expect } = require('@playwright/test');
const { signIn, signOut, licenseCounts, detailValue, datesAround } = require('./helpers');

const ADMIN = 'admin@contoso.example';
const SUPPORT = 'support@allot.example';
const PREMIUM = 'Business Premium';

test.describe.configure({ mode: 'serial' });

/** The id of the subscription bought by the first test. */
let subscriptionId = '';

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function nav(page) {
  return page.getByRole('navigation', { name: 'Admin center' });
}

/** Support > Service requests > New service request: files it, lands on its page; returns its path. */
async function fileRequest(page, { type, quantity, description }) {
  await nav(page).getByRole('link', { name: 'Service requests', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Service requests', exact: true })).toBeVisible();
  await page.getByRole('link', { name: 'New service request', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'New service request', exact: true })).toBeVisible();
  await page.getByLabel('Request type', { exact: true }).selectOption({ label: type });
  await page.getByLabel('Subscription', { exact: true }).selectOption(subscriptionId);
  if (quantity) await page.getByLabel('Number of licenses', { exact: true }).fill(String(quantity));
  await page.getByLabel('Problem description', { exact: true }).fill(description);
  await page.getByRole('button', { name: 'Submit', exact: true }).click();
  await expect(page.getByRole('status')).toContainText(/Service request #\d+ is filed\. We emailed you a confirmation\./);
  return new URL(page.url()).pathname;
}

/** Signs in as billing support and opens the request from the queue, filtered by its type. */
async function openInQueue(page, path, type, subject) {
  await signIn(page, SUPPORT);
  await expect(page.getByRole('heading', { level: 1, name: 'Service requests', exact: true })).toBeVisible();
  await page.getByLabel('Type', { exact: true }).selectOption({ label: type });
  await page.getByRole('button', { name: 'Apply', exact: true }).click();
  const number = `#${path.split('/').pop()}`;
  const row = page.getByRole('table', { name: 'Service requests' }).getByRole('row').filter({
    has: page.getByRole('link', { name: number, exact: true }),
  });
  await expect(row).toContainText('Contoso');
  await expect(row).toContainText('Open');
  await row.getByRole('link', { name: subject, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: `${number} ${subject}` })).toBeVisible();
}

/** Billing support moves the request to `state` with a message to the customer. */
async function changeState(page, state, message) {
  await page.getByLabel('New state', { exact: true }).selectOption({ label: state });
  await page.getByLabel('Message to the customer', { exact: true }).fill(message);
  await page.getByRole('button', { name: 'Change state', exact: true }).click();
  await expect(page.getByRole('status')).toHaveText('The state is changed.');
  expect(await detailValue(page, 'State')).toBe(state);
}

test('Add licenses by service request: billing support adds them and Licenses shows the new count', async ({ page }) => {
  await signIn(page, ADMIN);
  // A Business Premium subscription of its own, so the demo's counts can be given back.
  await nav(page).getByRole('link', { name: 'Your products', exact: true }).click();
  await page.getByRole('link', { name: 'Buy a subscription', exact: true }).click();
  await page.getByRole('radio', { name: PREMIUM, exact: true }).check();
  await page.getByLabel('Licenses', { exact: true }).fill('2');
  await page.getByRole('radio', { name: 'Monthly', exact: true }).check();
  await page.getByRole('button', { name: 'Buy', exact: true }).click();
  await page.getByRole('button', { name: 'Place order', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: PREMIUM, exact: true })).toBeVisible();
  subscriptionId = new URL(page.url()).pathname.split('/').pop();
  const before = await licenseCounts(page, PREMIUM);

  const path = await fileRequest(page, {
    type: 'Add licenses',
    quantity: 3,
    description: 'Three new people start on Monday and need Business Premium.',
  });
  const subject = `Add 3 licenses: ${PREMIUM}`;
  await expect(page.getByRole('heading', { level: 1, name: `#${path.split('/').pop()} ${subject}` })).toBeVisible();
  expect(await detailValue(page, 'State')).toBe('Open');
  expect(await detailValue(page, 'Billing support')).toBe('Not taken yet');
  await signOut(page);

  await openInQueue(page, path, 'Add licenses', subject);
  await page.getByRole('button', { name: 'Take', exact: true }).click();
  await expect(page.getByRole('status')).toHaveText('The request is yours.');
  expect(await detailValue(page, 'State')).toBe('In progress');
  await expect(page.getByLabel('Licenses to add', { exact: true })).toHaveValue('3');
  await page.getByRole('button', { name: 'Add licenses', exact: true }).click();
  await expect(page.getByRole('status')).toContainText(/^Added 3 licenses\. The charge is on bill /);
  await changeState(page, 'Resolved', 'The 3 licenses are added to your Business Premium subscription.');
  await signOut(page);

  await signIn(page, ADMIN);
  expect(await licenseCounts(page, PREMIUM)).toEqual({
    licenses: before.licenses + 3,
    assigned: before.assigned,
    available: before.available + 3,
  });
  await page.goto(path);
  expect(await detailValue(page, 'State')).toBe('Resolved');
  const thread = page.getByRole('region', { name: 'Conversation' });
  await expect(thread).toContainText('Billing support added 3 licenses.');
  await expect(thread).toContainText('The 3 licenses are added to your Business Premium subscription.');
});

test('Cancel subscription by service request: replied, cancelled with the refund, resolved; the note stays internal', async ({ page }) => {
  test.setTimeout(60_000);
  await signIn(page, ADMIN);
  const before = await licenseCounts(page, PREMIUM);
  const path = await fileRequest(page, {
    type: 'Cancel subscription',
    description: 'We are consolidating licenses: please cancel this subscription today.',
  });
  const subject = `Cancel subscription: ${PREMIUM}`;
  // The data-safety note: the export and the date the data goes (90 days if cancelled today).
  const note = page.getByRole('note');
  await expect(note).toContainText('Save your data first.');
  await expect(note).toContainText(
    new RegExp(`If the subscription is cancelled today, its data is deleted on (${datesAround(90).map(escapeRegExp).join('|')})`),
  );
  await note.getByLabel('Users and licenses as', { exact: true }).selectOption('csv');
  const exportData = note.getByRole('button', { name: 'Export data', exact: true });
  const [download] = await Promise.all([page.waitForEvent('download'), exportData.click()]);
  expect(download.suggestedFilename()).toBe('users-and-licenses.csv');
  await signOut(page);

  await openInQueue(page, path, 'Cancel subscription', subject);
  await expect(page.getByRole('note')).toContainText('The customer exported its data on');
  await page.getByRole('button', { name: 'Take', exact: true }).click();
  await page.getByLabel('Internal note', { exact: true }).fill('Checked: nothing else is owed on this subscription.');
  await page.getByRole('button', { name: 'Add internal note', exact: true }).click();
  await expect(page.getByRole('status')).toHaveText("Internal note added. The customer doesn't see it.");
  await page.getByLabel('Reply to the customer', { exact: true }).fill('Thanks, we will cancel it today.');
  await page.getByRole('button', { name: 'Send reply', exact: true }).click();
  await expect(page.getByRole('status')).toHaveText('Reply sent to the customer.');
  await expect(page.getByRole('radio', { name: 'End it now', exact: true })).toBeChecked();
  await expect(page.getByRole('main')).toContainText('Within the cancellation window');
  await page.getByRole('button', { name: 'Cancel the subscription', exact: true }).click();
  await expect(page.getByRole('status')).toContainText(/^The subscription is cancelled\. A refund of \$[\d,.]+ is on bill /);
  await changeState(page, 'Resolved', 'Your Business Premium subscription is cancelled and refunded.');

  // Both confirmations, and the updates, are in the outbox for the requester.
  await nav(page).getByRole('link', { name: 'Outbox', exact: true }).click();
  const number = path.split('/').pop();
  const outbox = page.getByRole('table', { name: 'Emails' });
  for (const subjectLine of [
    `Contoso: We received your service request #${number}`,
    `Contoso: Your ${PREMIUM} subscription is cancelled`,
    `Contoso: Billing support replied to your service request #${number}`,
    `Contoso: Service request #${number} is resolved`,
  ]) {
    await expect(
      outbox.getByRole('row').filter({ hasText: subjectLine }).filter({ hasText: ADMIN }).first(),
    ).toBeVisible();
  }
  await expect(outbox).not.toContainText('nothing else is owed');
  await signOut(page);

  await signIn(page, ADMIN);
  await page.goto(`/billing/subscriptions/${subscriptionId}`);
  expect(await detailValue(page, 'Status')).toBe('Cancelled');
  expect(await licenseCounts(page, PREMIUM)).toEqual({
    licenses: before.licenses - 5,
    assigned: before.assigned,
    available: before.available - 5,
  });
  await page.goto(path);
  expect(await detailValue(page, 'State')).toBe('Resolved');
  const thread = page.getByRole('region', { name: 'Conversation' });
  await expect(thread).toContainText('Thanks, we will cancel it today.');
  await expect(thread).toContainText('Billing support cancelled the subscription today.');
  await expect(thread).not.toContainText('nothing else is owed');
  await expect(page.getByRole('main')).not.toContainText('Internal note');

  // The customer closes it.
  await page.getByRole('button', { name: 'Close request', exact: true }).click();
  await expect(page.getByRole('status')).toHaveText('The request is closed.');
  expect(await detailValue(page, 'State')).toBe('Closed');
  await expect(page.getByRole('button', { name: 'Add a comment', exact: true })).toHaveCount(0);
});

test('bad input gets a clear 4xx page and changes nothing', async ({ page, browser }) => {
  // A Fabrikam subscription's id, as its own admin sees it.
  const fabrikam = await browser.newPage();
  await signIn(fabrikam, 'admin@fabrikam.example');
  await fabrikam.goto('/billing/products');
  const href = await fabrikam.getByRole('table', { name: 'Subscriptions' }).getByRole('link').first().getAttribute('href');
  const theirs = href.split('/').pop();
  await fabrikam.close();

  await signIn(page, ADMIN);
  await page.goto('/support/requests');
  const rowsBefore = await page.getByRole('row').count();

  // No description: spaces pass the browser's own check, not the server's.
  await page.goto('/support/requests/new');
  await page.getByLabel('Request type', { exact: true }).selectOption({ label: 'Billing question' });
  await page.getByLabel('Problem description', { exact: true }).fill('            ');
  const [empty] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Submit', exact: true }).click(),
  ]);
  expect(empty.status()).toBe(422);
  await expect(page.getByRole('alert')).toHaveText('Describe the problem in at least 10 characters.');

  // Another tenant's subscription, as a forged form would send it.
  const csrf = await page.locator('input[name="csrf_token"]').first().inputValue();
  const forged = await page.request.post('/support/requests', {
    form: { csrf_token: csrf, kind: 'cancel_subscription', subscription: theirs, description: 'Cancel Fabrikam, please.' },
    maxRedirects: 0,
  });
  expect(forged.status()).toBe(422);
  expect(await forged.text()).toContain('Choose one of your organization&#39;s subscriptions.');

  await page.goto('/support/requests');
  expect(await page.getByRole('row').count()).toBe(rowsBefore);
  const open = page.getByRole('table', { name: "Your organization's service requests" }).getByRole('link', { name: /^#\d+$/ }).first();
  const target = await open.getAttribute('href');
  await signOut(page);

  // A state jump that is not allowed: a closed request can't be resolved.
  await signIn(page, SUPPORT);
  await page.goto(target);
  const state = await detailValue(page, 'State');
  const token = await page.locator('input[name="csrf_token"]').first().inputValue();
  const jump = await page.request.post(`${target}/state`, {
    form: { csrf_token: token, state: 'open', message: '' },
    maxRedirects: 0,
  });
  expect(jump.status()).toBe(409);
  expect(await jump.text()).toContain('can&#39;t be moved to open');
  await page.goto(target);
  expect(await detailValue(page, 'State')).toBe(state);
});
