// SCIM provisioning as a new admin would try it (issue 14): add a token with the scim scope at
// Settings > API access, then act as the identity provider (Playwright's request client, no
// cookies): create a user, find them by userName, patch them with Entra ID's shapes, create a
// group with them as its member. The group carries Sales Professional, so the Licenses page
// counts one more assigned license; removing the member over SCIM gives it back. Then the user
// is deactivated (blocked on Active users) and deleted (in Deleted users).
// Demo data (`allot serve --demo`). Every user and group here is new and removed at the end;
// the token is revoked.
const { test, expect, request } = require('@playwright/test');
const { signIn, licenseCounts } = require('./helpers');
const { flash, openGroup, removeGroup } = require('./groups-helpers');

const ADMIN = 'admin@contoso.example';
const SALES = 'Sales Professional';
const SUFFIX = Date.now().toString(36);
const USER_NAME = `casey.${SUFFIX}@contoso.example`;
const GROUP = `Provisioned ${SUFFIX}`;
const TOKEN_NAME = `Entra ID ${SUFFIX}`;
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

test("an identity provider provisions a user and a group over SCIM, and the admin center agrees", async ({ browser, baseURL }) => {
  const page = await browser.newPage();
  await signIn(page, ADMIN);

  // Settings > API access > Add a token, with the scim scope.
  await page.goto('/settings/api-access');
  await page.getByRole('link', { name: 'Add a token', exact: true }).click();
  await page.getByLabel('Name', { exact: true }).fill(TOKEN_NAME);
  await page.getByRole('checkbox', { name: 'scim', exact: true }).check();
  await page.getByRole('radio', { name: 'In 30 days', exact: true }).check();
  await page.getByRole('button', { name: 'Add token', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Token added', exact: true })).toBeVisible();
  const token = (await page.locator('#token-secret').innerText()).trim();
  expect(token).toMatch(/^allot_[0-9a-f]{64}$/);

  const scim = await request.newContext({
    baseURL: `${baseURL}/scim/v2/`,
    extraHTTPHeaders: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' },
  });
  let userId;
  let groupId;
  try {
    const before = await licenseCounts(page, SALES);
    expect(before.available, 'a Sales Professional license is free').toBeGreaterThan(0);

    // Entra asks for the user by userName first: nobody yet.
    const filter = encodeURIComponent(`userName eq "${USER_NAME}"`);
    let reply = await scim.get(`Users?filter=${filter}`);
    expect(reply.status()).toBe(200);
    expect((await reply.json()).totalResults).toBe(0);

    reply = await scim.post('Users', {
      data: {
        schemas: [USER_SCHEMA],
        userName: USER_NAME,
        externalId: `casey${SUFFIX}`,
        active: true,
        name: { givenName: 'Casey', familyName: 'Jensen' },
        emails: [{ primary: true, type: 'work', value: USER_NAME }],
      },
    });
    expect(reply.status()).toBe(201);
    userId = (await reply.json()).id;

    reply = await scim.get(`Users?filter=${filter}`);
    expect((await reply.json()).Resources.map((u) => u.id)).toEqual([userId]);

    reply = await scim.patch(`Users/${userId}`, {
      data: {
        schemas: [PATCH_SCHEMA],
        Operations: [{ op: 'Replace', value: { displayName: 'Casey Jensen-Ruiz', 'name.familyName': 'Jensen-Ruiz' } }],
      },
    });
    expect(reply.status()).toBe(200);

    // The user is on Active users under their new name.
    await page.goto(`/users?q=${encodeURIComponent('Casey Jensen-Ruiz')}`);
    await expect(page.getByRole('link', { name: 'Casey Jensen-Ruiz', exact: true })).toBeVisible();

    // A group with them, over SCIM; the admin gives it Sales Professional on its page.
    reply = await scim.post('Groups', {
      data: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: GROUP, members: [{ value: userId }] },
    });
    expect(reply.status()).toBe(201);
    groupId = (await reply.json()).id;
    await openGroup(page, GROUP);
    const product = page.getByRole('combobox', { name: 'Product' });
    const option = product.getByRole('option', { name: new RegExp(`^${SALES} \\(`) });
    await product.selectOption({ label: await option.innerText() });
    await page.getByRole('button', { name: 'Assign licenses', exact: true }).click();
    await expect(flash(page)).toContainText('1 license assigned');
    const assigned = await licenseCounts(page, SALES);
    expect(assigned.assigned).toBe(before.assigned + 1);
    expect(assigned.available).toBe(before.available - 1);

    // Entra removes the member: the license goes back to the pool.
    reply = await scim.patch(`Groups/${groupId}`, {
      data: { schemas: [PATCH_SCHEMA], Operations: [{ op: 'Remove', path: 'members', value: [{ value: userId }] }] },
    });
    expect(reply.status()).toBe(200);
    expect((await licenseCounts(page, SALES)).assigned).toBe(before.assigned);

    // Deactivated: blocked on Active users.
    reply = await scim.patch(`Users/${userId}`, {
      data: { schemas: [PATCH_SCHEMA], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] },
    });
    expect(reply.status()).toBe(200);
    expect((await reply.json()).active).toBe(false);
    await page.goto('/users?filter=blocked');
    await expect(page.getByRole('link', { name: 'Casey Jensen-Ruiz', exact: true })).toBeVisible();

    // Deleted: gone from SCIM, listed in Deleted users.
    reply = await scim.delete(`Users/${userId}`);
    expect(reply.status()).toBe(204);
    reply = await scim.get(`Users/${userId}`);
    expect(reply.status()).toBe(404);
    expect((await reply.json()).schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    userId = undefined;
    await page.goto('/users/deleted');
    await expect(page.getByText('Casey Jensen-Ruiz')).toBeVisible();
  } finally {
    if (userId) await scim.delete(`Users/${userId}`);
    await removeGroup(page, GROUP);
    await scim.dispose();
    // Revoke the token: the next call is refused.
    await page.goto('/settings/api-access');
    await page.getByRole('button', { name: `Revoke ${TOKEN_NAME}`, exact: true }).click();
    const after = await request.newContext({ extraHTTPHeaders: { Authorization: `Bearer ${token}` } });
    expect((await after.get(`${baseURL}/scim/v2/Users`)).status()).toBe(401);
    await after.dispose();
    await page.close();
  }
});
