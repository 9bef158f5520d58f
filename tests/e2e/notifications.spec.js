// Settings > Notifications: a license alert on a pool, crossed by assigning a license and
// said in the Message center; an email choice kept. Demo data (`allot serve --demo`).
//
// Shares the demo server with the other specs: it reads the counts before it acts, gives back
// the license it assigned, turns its alert off and restores the email choice it changed.
// Users touched here, and nowhere else in the browser tests:
//   Lynne Robbins (user20): Business Premium assigned, then removed
const { test, expect } = require('@playwright/test');
const { signIn, toInt, assignOnProductPage, unassignOnProductPage } = require('./helpers');

const ADMIN = 'admin@contoso.example';
const PREMIUM = 'Business Premium';
const SUBJECT = `Licenses running low: ${PREMIUM}`;

function alertRow(page) {
  return page
    .getByRole('table', { name: 'License alerts' })
    .getByRole('row')
    .filter({ has: page.getByRole('link', { name: PREMIUM, exact: true }) });
}

async function saveAlert(page, value) {
  await page.goto('/settings/notifications');
  await page.getByLabel(`Alert below, ${PREMIUM}`, { exact: true }).fill(value);
  await page.getByRole('button', { name: `Save alert for ${PREMIUM}`, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Notifications', exact: true })).toBeVisible();
}

async function lowMessages(page) {
  await page.goto('/messages');
  return page.getByRole('heading', { level: 2, name: SUBJECT, exact: true }).count();
}

test('a license alert is said once when assigning crosses it, and not again on recovering', async ({ page }) => {
  await signIn(page, ADMIN);
  await page.goto('/settings/notifications');
  const availableNow = await alertRow(page).getByRole('cell').first().innerText();
  const available = toInt(availableNow.split(' of ')[0]);
  expect(available).toBeGreaterThan(0);
  const before = await lowMessages(page);

  // Alert below what is available now: nothing yet.
  await saveAlert(page, String(available));
  await expect(page.getByRole('status')).toContainText(`fewer than ${available} are available`);
  await expect(page.getByLabel(`Alert below, ${PREMIUM}`, { exact: true })).toHaveValue(String(available));
  expect(await lowMessages(page)).toBe(before);

  // One license assigned: below it, said once in the Message center.
  await assignOnProductPage(page, PREMIUM, ['Lynne Robbins']);
  expect(await lowMessages(page)).toBe(before + 1);
  const message = page.getByRole('listitem').filter({ hasText: SUBJECT }).first();
  await expect(message).toContainText(`${available - 1} of`);
  await expect(message.getByRole('link', { name: SUBJECT, exact: true })).toHaveAttribute('href', /buy/);

  // Given back: recovered, nothing new said.
  await unassignOnProductPage(page, PREMIUM, ['Lynne Robbins']);
  expect(await lowMessages(page)).toBe(before + 1);

  // Turned off.
  await saveAlert(page, '');
  await expect(page.getByRole('status')).toContainText('There is no alert for this product.');
  await expect(page.getByLabel(`Alert below, ${PREMIUM}`, { exact: true })).toHaveValue('');
});

test('an email choice is kept, and who gets what shows it', async ({ page }) => {
  await signIn(page, ADMIN);
  await page.goto('/settings/notifications');
  const box = page.getByRole('checkbox', { name: 'Renewal', exact: true });
  const was = await box.isChecked();
  await box.setChecked(!was);
  await page.getByRole('button', { name: 'Save email choices', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('Saved.');
  await page.reload();
  await expect(page.getByRole('checkbox', { name: 'Renewal', exact: true })).toBeChecked({ checked: !was });
  const mine = page
    .getByRole('table', { name: 'Emailed messages by admin' })
    .getByRole('row')
    .filter({ hasText: ADMIN });
  await expect(mine.getByRole('cell').first()).toHaveText(was ? 'Message center only' : 'Email');

  // Put back as it was.
  await page.getByRole('checkbox', { name: 'Renewal', exact: true }).setChecked(was);
  await page.getByRole('button', { name: 'Save email choices', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('Saved.');
});
