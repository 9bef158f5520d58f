// Users: Active users (search, filters, sort), a user's Licenses and apps, Manage product
// licenses, Add a user, Block sign-in, Reset password, Delete user and Restore, and what a
// User admin may not do. Demo data (`allot serve --demo`).
//
// All spec files share one demo server, so each test here uses its own users, reads the
// counts before it acts and checks the change relative to them, and gives back what it
// moved (except the user Add a user creates, who keeps a Sales Professional license).
//
// Users changed here, and nowhere else in the browser tests:
//   Bianca Pisani (user03): Sales Professional cleared, then back
//   Brian Johnson (user04): deleted, restored without Business Premium, then given it back
//   Cameron White (user05), Christie Cline (user06): Unassign all, then Assign more
//   Gerhart Moller (user11): Reset password
//   Pradeep Gupta…Yara Haddad (user25–29, 31–34): fill Business Premium for a while
//   Chidi Okafor (user38): given Sales Professional, deleted, restored, then cleared
//   Dana Levi (user39): Block sign-in, then Unblock
// Read only: Allan Deyoung (user02), Henrietta Mueller, Irvin Sayers, Zoe Keller, Adele Vance.
const { test, expect } = require('@playwright/test');
const {
  signIn,
  portalSignIn,
  licenseCounts,
  openProduct,
  openUser,
  datesAround,
  confirmUnassign,
  unassignOnProductPage,
  assignOnProductPage,
} = require('./helpers');

const ADMIN = 'admin@contoso.example';
const USER_ADMIN = 'users@contoso.example';
const PREMIUM = 'Business Premium';
const SALES = 'Sales Professional';

/** Active users with the given search, filter and sort, through the form. */
async function listUsers(page, { q = '', filter = 'All users', sort = 'Display name' } = {}) {
  await page.goto('/users');
  await expect(page.getByRole('heading', { level: 1, name: 'Active users', exact: true })).toBeVisible();
  await page.getByRole('searchbox', { name: 'Search' }).fill(q);
  await page.getByRole('combobox', { name: 'Filter' }).selectOption({ label: filter });
  await page.getByRole('button', { name: 'Apply', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Active users', exact: true })).toBeVisible();
  // The order is the column headers' (links): Display name is the default.
  if (sort !== 'Display name') {
    await page.getByRole('columnheader', { name: sort }).getByRole('link').click();
    await expect(page.getByRole('columnheader', { name: sort })).toHaveAttribute('aria-sort', 'ascending');
  }
  return page.getByRole('table', { name: 'Active users' });
}

/** The body rows of a table (rows with a row header). */
function bodyRows(table) {
  return table.getByRole('row').filter({ has: table.page().getByRole('rowheader') });
}

/** The row of the user `name` in a table. */
function userRow(table, name) {
  return table.getByRole('row').filter({ has: table.page().getByRole('link', { name, exact: true }) });
}

/** The text of the Licenses column of every body row. */
async function licensesColumn(table) {
  return bodyRows(table).evaluateAll((rows) => rows.map((r) => r.cells[r.cells.length - 1].innerText.trim()));
}

/** The value shown for `term` in a definition list on the page. */
async function detail(page, term) {
  const terms = page.getByRole('term');
  const values = page.getByRole('definition');
  const count = await terms.count();
  for (let i = 0; i < count; i++) {
    if ((await terms.nth(i).innerText()).trim() === term) return (await values.nth(i).innerText()).trim();
  }
  throw new Error(`no "${term}" on the page`);
}

test('Active users: search by name and by sign-in name', async ({ page }) => {
  await signIn(page, ADMIN);

  let table = await listUsers(page, { q: 'Henrietta' });
  await expect(bodyRows(table)).toHaveCount(1);
  await expect(table.getByRole('link', { name: 'Henrietta Mueller', exact: true })).toBeVisible();

  table = await listUsers(page, { q: 'user14@contoso' });
  await expect(bodyRows(table)).toHaveCount(1);
  await expect(table.getByRole('link', { name: 'Irvin Sayers', exact: true })).toBeVisible();
  await expect(userRow(table, 'Irvin Sayers')).toContainText('user14@contoso.example');

  // Nothing matches.
  await listUsers(page, { q: 'no-such-person-anywhere' });
  await expect(page.getByText('No users match.')).toBeVisible();
});

test('Active users: filters and sort by sign-in name', async ({ page }) => {
  await signIn(page, ADMIN);

  // Licensed users: everyone listed has a license.
  let table = await listUsers(page, { filter: 'Licensed users' });
  await expect(table.getByRole('link', { name: 'Allan Deyoung', exact: true })).toBeVisible();
  await expect(table.getByRole('link', { name: 'Zoe Keller', exact: true })).toHaveCount(0);
  for (const cell of await licensesColumn(table)) expect(cell).not.toBe('Unlicensed');

  // Unlicensed users: nobody listed has one.
  table = await listUsers(page, { filter: 'Unlicensed users' });
  await expect(table.getByRole('link', { name: 'Zoe Keller', exact: true })).toBeVisible();
  await expect(table.getByRole('link', { name: 'Allan Deyoung', exact: true })).toHaveCount(0);
  for (const cell of await licensesColumn(table)) expect(cell).toBe('Unlicensed');

  // Has <product>.
  table = await listUsers(page, { filter: `Has ${SALES}` });
  await expect(table.getByRole('link', { name: 'Allan Deyoung', exact: true })).toBeVisible();
  await expect(table.getByRole('link', { name: 'Zoe Keller', exact: true })).toHaveCount(0);
  for (const cell of await licensesColumn(table)) expect(cell).toContain(SALES);

  // The filter stays chosen on the page it produced.
  await expect(page.getByRole('combobox', { name: 'Filter' })).toHaveValue(/^product-\d+$/);

  // Sort by Sign-in name: the sign-in names run in order.
  table = await listUsers(page, { sort: 'Sign-in name' });
  const emails = await bodyRows(table).evaluateAll((rows) =>
    rows.map((r) => r.cells[r.cells.length - 2].innerText.trim()),
  );
  const numbered = emails.filter((e) => /^user\d\d@contoso\.example$/.test(e));
  expect(numbered.length).toBeGreaterThan(10);
  expect(numbered).toEqual([...numbered].sort());
  const at = (email) => emails.indexOf(email);
  expect(at('admin@contoso.example')).toBeGreaterThanOrEqual(0);
  expect(at('admin@contoso.example')).toBeLessThan(at('billing@contoso.example'));
  expect(at('billing@contoso.example')).toBeLessThan(at('licenses@contoso.example'));
  expect(at('licenses@contoso.example')).toBeLessThan(at('user01@contoso.example'));
  expect(at('user40@contoso.example')).toBeLessThan(at('users@contoso.example'));

  // By display name (the default) the order is different: Adele Vance (admin@) is not
  // before Aaron Park (user36).
  table = await listUsers(page);
  const names = await bodyRows(table).getByRole('rowheader').getByRole('link').allInnerTexts();
  expect(names.indexOf('Aaron Park')).toBeLessThan(names.indexOf('Adele Vance'));
  expect(names.indexOf('Aaron Park')).toBeGreaterThanOrEqual(0);
});

test("a user's Licenses and apps: clear a box, save, then check it again", async ({ page }) => {
  const name = 'Bianca Pisani';
  await signIn(page, ADMIN);
  const before = await licenseCounts(page, SALES);

  await openUser(page, name);
  const licenses = page.getByRole('region', { name: 'Licenses and apps' });
  const box = licenses.getByRole('checkbox', { name: SALES, exact: true });
  await expect(box).toBeChecked();
  await box.uncheck();
  await licenses.getByRole('button', { name: 'Save changes', exact: true }).click();
  await confirmUnassign(page, [name], SALES);

  await expect(page.getByRole('heading', { level: 1, name, exact: true })).toBeVisible();
  await expect(page.getByRole('status')).toContainText('Saved changes: 0 assigned, 1 unassigned.');
  await expect(licenses.getByRole('checkbox', { name: SALES, exact: true })).not.toBeChecked();
  await expect(licenses.getByRole('checkbox', { name: PREMIUM, exact: true })).toBeChecked();
  await expect(licenses).toContainText(new RegExp(`${SALES}: kept until (${datesAround(30).join('|')})`));

  const after = await licenseCounts(page, SALES);
  expect(after).toEqual({ licenses: before.licenses, assigned: before.assigned - 1, available: before.available + 1 });

  // Check it again.
  await openUser(page, name);
  await licenses.getByRole('checkbox', { name: SALES, exact: true }).check();
  await licenses.getByRole('button', { name: 'Save changes', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('Saved changes: 1 assigned, 0 unassigned.');
  await expect(licenses.getByRole('checkbox', { name: SALES, exact: true })).toBeChecked();
  expect(await licenseCounts(page, SALES)).toEqual(before);
});

test('Manage product licenses for several users: Unassign all, then Assign more', async ({ page }) => {
  const names = ['Cameron White', 'Christie Cline'];
  await signIn(page, ADMIN);
  const before = await licenseCounts(page, PREMIUM);

  /** On Active users, selects `names`, then Manage product licenses. */
  async function manage() {
    await page.goto('/users');
    for (const name of names) await page.getByRole('checkbox', { name: `Select ${name}`, exact: true }).check();
    await page.getByRole('button', { name: 'Manage product licenses', exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Manage product licenses', exact: true })).toBeVisible();
    await expect(page.getByRole('main')).toContainText('2 users selected');
    for (const name of names) {
      await expect(page.getByRole('main').getByRole('listitem').filter({ hasText: name })).toHaveCount(1);
    }
  }

  // Unassign all.
  await manage();
  await page.getByRole('radio', { name: 'Unassign all', exact: true }).check();
  await page.getByRole('button', { name: 'Save changes', exact: true }).click();
  await confirmUnassign(page, names, PREMIUM);
  await expect(page.getByRole('heading', { level: 1, name: 'Manage product licenses', exact: true })).toBeVisible();
  await expect(page.getByRole('status')).toContainText('Your changes were saved.');
  let result = page.getByRole('table', { name: 'What happened to each user' });
  await expect(bodyRows(result)).toHaveCount(2);
  for (const name of names) await expect(userRow(result, name)).toContainText(PREMIUM);
  await page.getByRole('link', { name: 'Done', exact: true }).click();

  await expect(page.getByRole('heading', { level: 1, name: 'Active users', exact: true })).toBeVisible();
  let table = page.getByRole('table', { name: 'Active users' });
  for (const name of names) {
    await expect(userRow(table, name).getByRole('cell').last()).toHaveText('Unlicensed');
  }
  expect(await licenseCounts(page, PREMIUM)).toEqual({
    licenses: before.licenses,
    assigned: before.assigned - 2,
    available: before.available + 2,
  });

  // Assign more, with Business Premium.
  await manage();
  await page.getByRole('radio', { name: /^Assign more/ }).check();
  await page.getByRole('checkbox', { name: PREMIUM, exact: true }).check();
  await page.getByRole('button', { name: 'Save changes', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('Your changes were saved.');
  result = page.getByRole('table', { name: 'What happened to each user' });
  for (const name of names) {
    // Columns: Assigned, Unassigned, Not assigned.
    await expect(userRow(result, name).getByRole('cell').first()).toHaveText(PREMIUM);
  }
  await page.getByRole('link', { name: 'Done', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Active users', exact: true })).toBeVisible();
  table = page.getByRole('table', { name: 'Active users' });
  for (const name of names) await expect(userRow(table, name).getByRole('cell').last()).toHaveText(PREMIUM);
  expect(await licenseCounts(page, PREMIUM)).toEqual(before);
});

test('Add a user with an automatic password and a license; the password works in the portal', async ({ page, browser }) => {
  const tag = Date.now().toString(36);
  const name = `Nina Newhire ${tag}`;
  const email = `nina.newhire.${tag}@contoso.example`;
  await signIn(page, ADMIN);
  const before = await licenseCounts(page, SALES);
  expect(before.available).toBeGreaterThanOrEqual(1);

  await page.goto('/users');
  await page.getByRole('link', { name: 'Add a user', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Add a user', exact: true })).toBeVisible();
  await page.getByLabel('Display name', { exact: true }).fill(name);
  await page.getByLabel('Sign-in name', { exact: true }).fill(email);
  await expect(page.getByRole('radio', { name: 'Automatically create a password', exact: true })).toBeChecked();
  await page.getByRole('group', { name: 'Product licenses' }).getByRole('checkbox', { name: SALES, exact: true }).check();
  await page.getByRole('button', { name: 'Add user', exact: true }).click();

  // The result shows the password, once.
  await expect(page.getByRole('heading', { level: 1, name: 'User added', exact: true })).toBeVisible();
  expect(await detail(page, 'Sign-in name')).toBe(email);
  const password = await detail(page, 'Password');
  expect(password.length).toBeGreaterThanOrEqual(8);
  await expect(page.getByText('This password is shown only once.')).toBeVisible();

  // Done: the user's page does not show it again.
  await page.getByRole('link', { name: 'Done', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name, exact: true })).toBeVisible();
  await expect(page.getByRole('main')).not.toContainText(password);
  await expect(page.getByRole('checkbox', { name: SALES, exact: true })).toBeChecked();

  // Active users lists them with the license.
  const table = await listUsers(page, { q: email });
  await expect(userRow(table, name)).toContainText(email);
  await expect(userRow(table, name).getByRole('cell').last()).toHaveText(SALES);
  expect(await licenseCounts(page, SALES)).toEqual({
    licenses: before.licenses,
    assigned: before.assigned + 1,
    available: before.available - 1,
  });

  // The password works in the service portal.
  const portal = await browser.newContext();
  try {
    const user = await portal.newPage();
    await portalSignIn(user, email, password);
    await expect(user).toHaveURL(/\/portal$/);
    await expect(user.getByRole('heading', { level: 1, name: 'Your products', exact: true })).toBeVisible();
    await expect(user.getByRole('list', { name: 'Your products' })).toContainText(SALES);
  } finally {
    await portal.close();
  }
});

test('Block sign-in and Unblock sign-in', async ({ page, browser }) => {
  const name = 'Dana Levi';
  const email = 'user39@contoso.example';
  await signIn(page, ADMIN);
  await openUser(page, name);
  expect(await detail(page, 'Sign-in')).toBe('Allowed');

  await page.getByRole('button', { name: 'Block sign-in', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('Sign-in blocked.');
  expect(await detail(page, 'Sign-in')).toBe('Blocked');
  await expect(page.getByRole('button', { name: 'Unblock sign-in', exact: true })).toBeVisible();

  // Active users: the Sign-in blocked filter lists them, tagged.
  const table = await listUsers(page, { filter: 'Sign-in blocked' });
  await expect(userRow(table, name)).toContainText('Sign-in blocked');
  for (const header of await bodyRows(table).getByRole('rowheader').allInnerTexts()) {
    expect(header).toContain('Sign-in blocked');
  }

  // They can't sign in to the service portal.
  const portal = await browser.newContext();
  try {
    const user = await portal.newPage();
    await portalSignIn(user, email);
    await expect(user.getByRole('alert')).toContainText('Your account is blocked from signing in.');
    await expect(user.getByRole('heading', { level: 1, name: 'Sign in to the service', exact: true })).toBeVisible();

    // Unblock.
    await openUser(page, name);
    await page.getByRole('button', { name: 'Unblock sign-in', exact: true }).click();
    await expect(page.getByRole('status')).toContainText('Sign-in allowed again.');
    expect(await detail(page, 'Sign-in')).toBe('Allowed');
    await expect(page.getByRole('button', { name: 'Block sign-in', exact: true })).toBeVisible();

    await portalSignIn(user, email);
    await expect(user).toHaveURL(/\/portal$/);
    await expect(user.getByRole('heading', { level: 1, name: 'No license', exact: true })).toBeVisible();
  } finally {
    await portal.close();
  }
});

test('Reset password (automatic): the new password works in the portal, the old one no more', async ({ page, browser }) => {
  const name = 'Gerhart Moller';
  const email = 'user11@contoso.example';
  await signIn(page, ADMIN);
  await openUser(page, name);

  const reset = page.getByRole('group', { name: 'Reset password' });
  await expect(reset.getByRole('radio', { name: 'Automatically create a password', exact: true })).toBeChecked();
  await page.getByRole('button', { name: 'Reset password', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Password reset', exact: true })).toBeVisible();
  expect(await detail(page, 'Sign-in name')).toBe(email);
  const password = await detail(page, 'Password');
  expect(password.length).toBeGreaterThanOrEqual(8);
  expect(password).not.toBe('allot-demo');

  const portal = await browser.newContext();
  try {
    const user = await portal.newPage();
    // The old password is refused (one wrong try, on an account no other test signs in with).
    await portalSignIn(user, email);
    await expect(user.getByRole('alert')).toContainText('Wrong email or password.');
    // The new one opens the portal.
    await portalSignIn(user, email, password);
    await expect(user).toHaveURL(/\/portal$/);
    await expect(user.getByRole('banner')).toContainText(name);
    // Gerhart is in the demo's Sales team, so the portal shows what the group gives him.
    await expect(user.getByRole('heading', { level: 1, name: 'Your products', exact: true })).toBeVisible();
    await expect(user.getByRole('main')).toContainText('Sales Professional');
  } finally {
    await portal.close();
  }
});

test('Delete user frees their license; Restore gives it back', async ({ page }) => {
  const name = 'Chidi Okafor';
  await signIn(page, ADMIN);

  // Give them a license first (they have none in the demo).
  await openUser(page, name);
  const box = page.getByRole('checkbox', { name: SALES, exact: true });
  if (!(await box.isChecked())) {
    await box.check();
    await page.getByRole('button', { name: 'Save changes', exact: true }).click();
    await expect(page.getByRole('status')).toContainText('1 assigned');
  }
  const before = await licenseCounts(page, SALES);

  await openUser(page, name);
  await page.getByRole('link', { name: 'Delete user', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Delete user', exact: true })).toBeVisible();
  await expect(page.getByRole('main')).toContainText(`Their licenses (${SALES}) are available to assign`);
  await page.getByRole('button', { name: 'Delete user', exact: true }).click();

  await expect(page.getByRole('heading', { level: 1, name: 'Active users', exact: true })).toBeVisible();
  await expect(page.getByRole('status')).toContainText('User deleted.');
  let table = await listUsers(page, { q: name });
  await expect(table.getByRole('link', { name, exact: true })).toHaveCount(0);
  expect(await licenseCounts(page, SALES)).toEqual({
    licenses: before.licenses,
    assigned: before.assigned - 1,
    available: before.available + 1,
  });

  // Deleted users lists them, until a date 30 days on.
  await page.getByRole('navigation').getByRole('link', { name: 'Deleted users', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Deleted users', exact: true })).toBeVisible();
  const deleted = page.getByRole('table', { name: 'Deleted users' });
  const row = deleted.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });
  await expect(row).toHaveCount(1);
  await row.getByRole('button', { name: `Restore ${name}`, exact: true }).click();

  await expect(page.getByRole('heading', { level: 1, name: 'User restored', exact: true })).toBeVisible();
  await expect(page.getByRole('main')).toContainText(`Licenses given back: ${SALES}.`);
  await expect(page.getByRole('alert')).toHaveCount(0);
  expect(await licenseCounts(page, SALES)).toEqual(before);
  table = await listUsers(page, { q: name });
  await expect(userRow(table, name).getByRole('cell').last()).toHaveText(SALES);

  // Leave them as the demo had them: no license.
  await openUser(page, name);
  await page.getByRole('checkbox', { name: SALES, exact: true }).uncheck();
  await page.getByRole('button', { name: 'Save changes', exact: true }).click();
  await confirmUnassign(page, [name], SALES);
  await expect(page.getByRole('status')).toContainText('1 unassigned');
});

test('Restore when the license was taken meanwhile: restored without it', async ({ page }) => {
  const name = 'Brian Johnson';
  const fillers = [
    'Pradeep Gupta',
    'Raul Razo',
    'Rohan Mehta',
    'Sally Tran',
    'Serena Davis',
    'Vanessa Ortiz',
    'Wendy Cheng',
    'Xavier Dubois',
    'Yara Haddad',
  ];
  await signIn(page, ADMIN);
  const before = await licenseCounts(page, PREMIUM);

  await openUser(page, name);
  await expect(page.getByRole('checkbox', { name: PREMIUM, exact: true })).toBeChecked();
  await expect(page.getByRole('checkbox', { name: SALES, exact: true })).toBeChecked();
  await page.getByRole('link', { name: 'Delete user', exact: true }).click();
  await page.getByRole('button', { name: 'Delete user', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('User deleted.');

  // Someone else takes every Business Premium license left, including the freed one.
  const freed = await licenseCounts(page, PREMIUM);
  expect(freed.available).toBe(before.available + 1);
  expect(freed.available).toBeLessThanOrEqual(fillers.length);
  const taking = fillers.slice(0, freed.available);
  await assignOnProductPage(page, PREMIUM, taking);
  expect((await licenseCounts(page, PREMIUM)).available).toBe(0);

  // Restore: back without Business Premium, with Sales Professional.
  await page.goto('/users/deleted');
  await page
    .getByRole('table', { name: 'Deleted users' })
    .getByRole('button', { name: `Restore ${name}`, exact: true })
    .click();
  await expect(page.getByRole('heading', { level: 1, name: 'User restored', exact: true })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText(`Restored without ${PREMIUM}: no license was available.`);
  await expect(page.getByRole('main')).toContainText(`Licenses given back: ${SALES}.`);
  await page.getByRole('link', { name: 'Go to the user', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name, exact: true })).toBeVisible();
  await expect(page.getByRole('checkbox', { name: PREMIUM, exact: true })).not.toBeChecked();
  await expect(page.getByRole('checkbox', { name: SALES, exact: true })).toBeChecked();

  // Put things back: the fillers give their licenses up, Brian Johnson gets his again.
  await unassignOnProductPage(page, PREMIUM, taking);
  await openUser(page, name);
  await page.getByRole('checkbox', { name: PREMIUM, exact: true }).check();
  await page.getByRole('button', { name: 'Save changes', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('Saved changes: 1 assigned, 0 unassigned.');
  expect(await licenseCounts(page, PREMIUM)).toEqual(before);
});

test('a User admin cannot change a Global admin', async ({ page }) => {
  const refusal = 'Only a Global admin can change another Global admin.';
  await signIn(page, USER_ADMIN);
  await expect(page.getByRole('heading', { level: 1, name: 'Home', exact: true })).toBeVisible();
  await openUser(page, 'Adele Vance');
  expect(await detail(page, 'Roles')).toContain('Global');

  // The page doesn't offer what the User admin may not do to a Global admin...
  await expect(page.getByRole('heading', { name: 'Licenses and apps' })).toBeVisible();
  for (const name of ['Block sign-in', 'Reset password', 'Delete user']) {
    await expect(page.getByRole('button', { name, exact: true })).toHaveCount(0);
    await expect(page.getByRole('link', { name, exact: true })).toHaveCount(0);
  }

  // ...and going to the delete page by its address is refused with the rule.
  const response = await page.goto(page.url().replace(/\/?$/, '/delete'));
  expect(response.status()).toBe(403);
  await expect(page.getByRole('alert')).toContainText(refusal);

  // Nothing changed.
  await openUser(page, 'Adele Vance');
  expect(await detail(page, 'Sign-in')).toBe('Allowed');
});
