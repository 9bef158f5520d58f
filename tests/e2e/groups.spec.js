// Users > Groups: Add a group, Add members, assigning a product to the group (its members
// inherit it: their boxes are checked and disabled, "Inherited from <group>"), removing a
// member (the license is freed, their data is kept for 30 days), and the demo's Sales team.
// Demo data (`allot serve --demo`).
//
// All spec files share one demo server, so the story reads the counts before it acts, checks
// the change relative to them, and gives back what it moved: it unassigns the product from
// its group and deletes the group (also when a step fails, in afterAll). Users changed here,
// and nowhere else in the browser tests:
//   Johanna Lorenz (user16), Joni Sherman (user17), Jordan Miller (user18): members of a new
//   group with Business Premium, then removed from it. What stays behind: each of them has
//   Business Premium data held for 30 days (they had no license before and have none after).
// Read only: the Sales team (Gerhart Moller…Isaiah Langer, user11–15) and its Sales Professional.
const { test, expect } = require('@playwright/test');
const { signIn, licenseCounts, openUser, datesAround, toInt } = require('./helpers');
const { bodyRows, rowOf, flash, openGroups, openGroup, removeGroup } = require('./groups-helpers');

const ADMIN = 'admin@contoso.example';
const PREMIUM = 'Business Premium';
const SALES = 'Sales Professional';
const MEMBERS = ['Johanna Lorenz', 'Joni Sherman', 'Jordan Miller'];
const SALES_TEAM = ['Gerhart Moller', 'Grady Archie', 'Henrietta Mueller', 'Irvin Sayers', 'Isaiah Langer'];

const GROUP = `Falcon project ${Date.now().toString(36)}`;
let created = false;

test.afterAll(async ({ browser }) => {
  if (!created) return;
  // Give back what a failed step left: the group's licenses and the group.
  const page = await browser.newPage();
  await signIn(page, ADMIN);
  await removeGroup(page, GROUP);
  await page.close();
});

test('a group passes its license to its members, and leaving the group frees it with the data kept', async ({ page }) => {
  await signIn(page, ADMIN);
  const before = await licenseCounts(page, PREMIUM);

  // Add a group.
  await openGroups(page);
  await page.getByRole('link', { name: 'Add a group', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Add a group', exact: true })).toBeVisible();
  await page.getByLabel('Name', { exact: true }).fill(GROUP);
  await page.getByLabel('Description', { exact: true }).fill('People on the Falcon project');
  await page.getByRole('button', { name: 'Add group', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: GROUP, exact: true })).toBeVisible();
  created = true;
  await expect(flash(page)).toHaveText(`Added the group ${GROUP}.`);
  await expect(page.getByRole('heading', { level: 2, name: 'Members (0)', exact: true })).toBeVisible();
  await expect(page.getByText('No licenses are assigned to this group.')).toBeVisible();

  // Add members: three users without licenses.
  await page.getByRole('link', { name: 'Add members', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Add members', exact: true })).toBeVisible();
  await page.getByRole('searchbox', { name: 'Search users' }).fill('Jo');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  for (const name of MEMBERS) await page.getByRole('checkbox', { name: `Select ${name}`, exact: true }).check();
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: GROUP, exact: true })).toBeVisible();
  await expect(flash(page)).toHaveText('Added 3 members to the group.');
  const members = page.getByRole('table', { name: `Members of ${GROUP}` });
  await expect(bodyRows(members)).toHaveCount(3);
  for (const name of MEMBERS) await expect(rowOf(members, name)).toContainText('Unlicensed');

  // Assign licenses: Business Premium. The option says how many are available.
  const option = page.getByRole('combobox', { name: 'Product' }).getByRole('option', { name: new RegExp(`^${PREMIUM} \\(`) });
  await expect(option).toHaveText(`${PREMIUM} (${before.available} of ${before.licenses} available)`);
  await page.getByRole('combobox', { name: 'Product' }).selectOption({ label: await option.innerText() });
  await page.getByRole('button', { name: 'Assign licenses', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: GROUP, exact: true })).toBeVisible();
  const said = await flash(page).innerText();
  const given = said.match(/^Assigned the license to the group\. (\d+) licenses? assigned from the group's licenses\.(?: (\d+) couldn't be assigned: see Errors & issues\.)?$/);
  expect(given, said).toBeTruthy();
  const assigned = toInt(given[1]);
  const failed = given[2] ? toInt(given[2]) : 0;
  // As many as there were available, up to the three members.
  expect(assigned).toBe(Math.min(MEMBERS.length, before.available));
  expect(assigned + failed).toBe(MEMBERS.length);

  const licenses = page.getByRole('table', { name: `Licenses assigned to ${GROUP}` });
  // Columns: Members with it from this group, Errors.
  await expect(rowOf(licenses, PREMIUM).getByRole('cell').nth(0)).toHaveText(String(assigned));
  await expect(rowOf(licenses, PREMIUM).getByRole('cell').nth(1)).toHaveText(String(failed));
  let without = [];
  if (failed > 0) {
    await expect(page.getByRole('heading', { level: 2, name: `Errors & issues (${failed})`, exact: true })).toBeVisible();
    const errors = page.getByRole('table', { name: 'Members without their group licenses' });
    await expect(bodyRows(errors)).toHaveCount(failed);
    for (const name of MEMBERS) if ((await rowOf(errors, name).count()) > 0) without.push(name);
    expect(without).toHaveLength(failed);
  } else {
    await expect(page.getByRole('heading', { name: /^Errors & issues/ })).toHaveCount(0);
  }
  const licensed = MEMBERS.filter((name) => !without.includes(name));

  // Licenses counts them as assigned.
  expect(await licenseCounts(page, PREMIUM)).toEqual({
    licenses: before.licenses,
    assigned: before.assigned + assigned,
    available: before.available - assigned,
  });

  // Each licensed member's page: the box is checked, disabled and says where it comes from.
  for (const name of licensed) {
    await openUser(page, name);
    await expect(page.getByRole('region', { name: 'Groups' }).getByRole('link', { name: GROUP, exact: true })).toBeVisible();
    const box = page.getByRole('checkbox', { name: PREMIUM, exact: true });
    await expect(box).toBeChecked();
    await expect(box).toBeDisabled();
    await expect(page.getByRole('group', { name: 'Licenses', exact: true })).toContainText(`Inherited from ${GROUP}`);
  }

  // Remove one member who has the license (if any got it): it is freed and their data is kept
  // for 30 days.
  const leaving = licensed.length > 0 ? licensed[licensed.length - 1] : MEMBERS[MEMBERS.length - 1];
  await openGroup(page, GROUP);
  await page.getByRole('checkbox', { name: `Select ${leaving}`, exact: true }).check();
  await page.getByRole('button', { name: 'Remove members', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: GROUP, exact: true })).toBeVisible();
  const removed = await flash(page).innerText();
  if (licensed.length > 0) {
    expect(removed).toMatch(/^Removed 1 member from the group\. 1 license was freed\. Their data is kept until /);
    expect(datesAround(30).some((d) => removed.endsWith(`Their data is kept until ${d}.`)), removed).toBe(true);
  } else {
    expect(removed).toBe('Removed 1 member from the group.');
  }
  await expect(bodyRows(page.getByRole('table', { name: `Members of ${GROUP}` }))).toHaveCount(2);

  // The user's page no longer has the product: the box is theirs to check again.
  await openUser(page, leaving);
  await expect(page.getByRole('region', { name: 'Groups' })).toContainText('Not a member of any group.');
  const box = page.getByRole('checkbox', { name: PREMIUM, exact: true });
  await expect(box).not.toBeChecked();
  await expect(box).toBeEnabled();
  await expect(page.getByRole('main')).not.toContainText(`Inherited from ${GROUP}`);
  expect((await licenseCounts(page, PREMIUM)).assigned).toBe(before.assigned + Math.max(assigned - 1, 0));

  // Give it all back: unassign the product from the group (freeing the rest), delete the group.
  await openGroup(page, GROUP);
  await page.getByRole('button', { name: `Unassign ${PREMIUM} from ${GROUP}`, exact: true }).click();
  await expect(flash(page)).toContainText(`Unassigned ${PREMIUM} from the group.`);
  if (assigned > 1) await expect(flash(page)).toContainText(`${assigned - 1} license`);
  await removeGroup(page, GROUP);
  await expect(page.getByRole('table', { name: 'Groups' }).getByRole('link', { name: GROUP, exact: true })).toHaveCount(0);
  created = false;
  expect(await licenseCounts(page, PREMIUM)).toEqual(before);
});

test("the demo's Sales team lists its five members and Sales Professional", async ({ page }) => {
  await signIn(page, ADMIN);
  await openGroups(page);
  const row = rowOf(page.getByRole('table', { name: 'Groups' }), 'Sales team');
  // Columns: Description, Members, Licenses.
  await expect(row.getByRole('cell').nth(1)).toHaveText('5');
  await expect(row.getByRole('cell').nth(2)).toHaveText(SALES);

  await openGroup(page, 'Sales team');
  await expect(page.getByRole('heading', { level: 2, name: 'Members (5)', exact: true })).toBeVisible();
  const members = page.getByRole('table', { name: 'Members of Sales team' });
  await expect(bodyRows(members)).toHaveCount(5);
  for (const name of SALES_TEAM) await expect(rowOf(members, name)).toContainText(SALES);
  const licenses = page.getByRole('table', { name: 'Licenses assigned to Sales team' });
  await expect(rowOf(licenses, SALES).getByRole('cell').nth(0)).toHaveText('5');
  await expect(page.getByRole('heading', { name: /^Errors & issues/ })).toHaveCount(0);
});
