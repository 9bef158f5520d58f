// Helpers of the groups stories (groups.spec.js, group-apps.spec.js): tables by their row
// headers, the flash, and opening, cleaning up and deleting a group.
const { expect } = require('@playwright/test');

/** The body rows of a table (the rows with a cell). */
function bodyRows(table) {
  return table.getByRole('row').filter({ has: table.page().getByRole('cell') });
}

/** The row of `name` (a row header's link or text) in `table`. */
function rowOf(table, name) {
  return table.getByRole('row').filter({ has: table.page().getByRole('rowheader', { name, exact: true }) });
}

/** The flash after a post/redirect/get: the first status in the page's main area. */
function flash(page) {
  return page.getByRole('main').getByRole('status').first();
}

/** Opens Users > Groups from the side navigation. */
async function openGroups(page) {
  await page.goto('/users');
  await page.getByRole('navigation', { name: 'Admin center' }).getByRole('link', { name: 'Groups', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Groups', exact: true })).toBeVisible();
}

/** Opens Users > Groups and selects the group's link; lands on the group's page. */
async function openGroup(page, name) {
  await openGroups(page);
  await page.getByRole('table', { name: 'Groups' }).getByRole('link', { name, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name, exact: true })).toBeVisible();
}

/**
 * Unassigns every product from the group named `name` and deletes it, when it exists.
 * Leaves the page on Groups.
 */
async function removeGroup(page, name) {
  await openGroups(page);
  const link = page.getByRole('table', { name: 'Groups' }).getByRole('link', { name, exact: true });
  if ((await link.count()) === 0) return;
  await link.click();
  await expect(page.getByRole('heading', { level: 1, name, exact: true })).toBeVisible();
  const unassign = page.getByRole('button', { name: new RegExp(`^Unassign .* from ${name}$`) });
  while ((await unassign.count()) > 0) {
    await unassign.first().click();
    await expect(flash(page)).toContainText('from the group.');
  }
  await page.getByRole('link', { name: 'Delete group', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Delete group', exact: true })).toBeVisible();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Groups', exact: true })).toBeVisible();
  await expect(flash(page)).toHaveText('Deleted the group.');
}

module.exports = { bodyRows, rowOf, flash, openGroups, openGroup, removeGroup };
