// A group's license turning an app off for its members: Edit apps on the group's page, Save
// apps (the license stays, the data is held for 30 days and the message says until when), the
// member's Licenses and apps, and the portal telling a member with every app off so.
// Demo data (`allot serve --demo`).
//
// All spec files share one demo server: the story reads the counts before it acts and gives
// back what it moved (it unassigns the product from its group and deletes the group, also
// when a step fails, in afterAll). Users changed here, and nowhere else in the browser tests:
//   Lidia Holloway (user19): member of a new group with Sales Professional, its Sales data
//   turned off, then removed with the group. What stays behind: her Sales Professional data
//   held for 30 days (she had no license before and has none after).
const { test, expect } = require('@playwright/test');
const { signIn, portalSignIn, licenseCounts, openUser, datesAround } = require('./helpers');
const { rowOf, flash, openGroups, removeGroup } = require('./groups-helpers');

const ADMIN = 'admin@contoso.example';
const SALES = 'Sales Professional';
const APP = 'Sales data';
const MEMBER = 'Lidia Holloway';
const GROUP = `Field crew ${Date.now().toString(36)}`;
let created = false;

test.afterAll(async ({ browser }) => {
  if (!created) return;
  const page = await browser.newPage();
  await signIn(page, ADMIN);
  await removeGroup(page, GROUP);
  await page.close();
});

test("a group's license can turn an app off for its members, who keep the license", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, ADMIN);
  const before = await licenseCounts(page, SALES);
  expect(before.available, 'a Sales Professional license is free').toBeGreaterThan(0);

  // A group with one member and Sales Professional.
  await openGroups(page);
  await page.getByRole('link', { name: 'Add a group', exact: true }).click();
  await page.getByLabel('Name', { exact: true }).fill(GROUP);
  await page.getByRole('button', { name: 'Add group', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: GROUP, exact: true })).toBeVisible();
  created = true;
  await page.getByRole('link', { name: 'Add members', exact: true }).click();
  await page.getByRole('searchbox', { name: 'Search users' }).fill('Lidia');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.getByRole('checkbox', { name: `Select ${MEMBER}`, exact: true }).check();
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(flash(page)).toHaveText('Added 1 member to the group.');
  const product = page.getByRole('combobox', { name: 'Product' });
  const option = product.getByRole('option', { name: new RegExp(`^${SALES} \\(`) });
  await product.selectOption({ label: await option.innerText() });
  await page.getByRole('button', { name: 'Assign licenses', exact: true }).click();
  await expect(flash(page)).toContainText('Assigned the license to the group. 1 license assigned');

  // Edit apps: every app is on; clear Sales data and save.
  const licenses = page.getByRole('table', { name: `Licenses assigned to ${GROUP}` });
  await expect(rowOf(licenses, SALES)).toContainText('All apps on');
  await rowOf(licenses, SALES).getByRole('link', { name: `Edit apps of ${SALES} for ${GROUP}`, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: `${SALES}: apps for ${GROUP}`, exact: true })).toBeVisible();
  const box = page.getByRole('checkbox', { name: APP, exact: true });
  await expect(box).toBeChecked();
  await box.uncheck();
  await page.getByRole('button', { name: 'Save apps', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: GROUP, exact: true })).toBeVisible();
  const said = await flash(page).innerText();
  expect(said).toContain(`Turned off ${APP} (${SALES}) for the group. The apps of 1 member changed.`);
  const until = datesAround(30).find((d) => said.includes(`kept until ${d}`));
  expect(until, said).toBeTruthy();
  await expect(rowOf(licenses, SALES)).toContainText(`Off: ${APP}`);
  // The license stays: the count of assigned licenses is one more than before, not less.
  const after = await licenseCounts(page, SALES);
  expect(after.assigned).toBe(before.assigned + 1);

  // The member's Licenses and apps: inherited, its app off with the hold's date.
  await openUser(page, MEMBER);
  await expect(page.getByRole('checkbox', { name: SALES, exact: true })).toBeDisabled();
  await expect(page.getByRole('checkbox', { name: SALES, exact: true })).toBeChecked();
  await expect(page.getByText(`${APP}: off, data kept until ${until}`)).toBeVisible();

  // The portal tells her the license has no app on.
  const portalContext = await browser.newContext();
  const portal = await portalContext.newPage();
  await portalSignIn(portal, 'user19@contoso.example');
  await expect(portal.getByRole('alert')).toContainText(`Your license for ${SALES} has no apps turned on. Ask your admin.`);
  await portalContext.close();
  await context.close();
});
