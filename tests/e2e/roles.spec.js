// Settings > Roles as a Global admin uses it (issue 15): find a user in a role's section, Assign,
// see them listed, Remove; the organization's last Global admin can't remove their own role,
// and the page says why. Demo data (`allot serve --demo`):
//   Beatriz Costa (user37): made License admin, then not.
//   Adele Vance (admin@contoso.example): the demo's only Global admin, kept.
const { test, expect } = require('@playwright/test');
const { signIn } = require('./helpers');
const { flash } = require('./groups-helpers');

test('a Global admin gives a user the License admin role and takes it away', async ({ page }) => {
  await signIn(page, 'admin@contoso.example');
  await page.getByRole('link', { name: 'Roles', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Roles' })).toBeVisible();
  const section = page.getByRole('region', { name: 'License admin' });

  await section.getByRole('searchbox', { name: 'Find a user to make License admin' }).fill('Beatriz');
  await section.getByRole('button', { name: 'Search', exact: true }).click();
  const found = page.getByRole('region', { name: 'License admin' });
  await expect(found.getByText('user37@contoso.example')).toBeVisible();
  await found.getByRole('button', { name: 'Assign License admin to Beatriz Costa' }).click();
  await expect(flash(page)).toContainText('Beatriz Costa is now a License admin.');
  const holders = page.getByRole('region', { name: 'License admin' });
  await expect(holders.getByRole('link', { name: 'Beatriz Costa' })).toBeVisible();

  // Her page shows the role too.
  await holders.getByRole('link', { name: 'Beatriz Costa' }).click();
  await expect(page.getByRole('checkbox', { name: 'License admin' })).toBeChecked();
  await page.goBack();

  await page.getByRole('region', { name: 'License admin' })
    .getByRole('button', { name: 'Remove License admin from Beatriz Costa' }).click();
  await expect(flash(page)).toContainText('Beatriz Costa is no longer a License admin.');
  await expect(page.getByRole('region', { name: 'License admin' }).getByRole('link', { name: 'Beatriz Costa' })).toHaveCount(0);
});

test("the last Global admin can't remove their own role", async ({ page }) => {
  await signIn(page, 'admin@contoso.example');
  await page.goto('/settings/roles');
  await page.getByRole('region', { name: 'Global admin' })
    .getByRole('button', { name: 'Remove Global admin from Adele Vance' }).click();
  await expect(page.getByRole('alert')).toHaveText('Your organization needs at least one Global admin. Make someone else a Global admin first.');
  // Still signed in, still a Global admin.
  await expect(page.getByRole('region', { name: 'Global admin' }).getByRole('link', { name: 'Adele Vance' })).toBeVisible();
  await page.goto('/settings/roles');
  await expect(page.getByRole('heading', { level: 1, name: 'Roles' })).toBeVisible();
});

// A user's page: Name and sign-in name. Zoe Keller (user35) is renamed, refused a sign-in name
// in use, and given her names back (also when a step fails, for the specs after this one).
test("an admin renames a user on their page, and a sign-in name in use is refused on the form", async ({ page }) => {
  await signIn(page, 'admin@contoso.example');
  await page.goto('/users?q=zoe');
  await page.getByRole('link', { name: 'Zoe Keller', exact: true }).click();
  const userPage = page.url();
  const form = () => page.getByRole('region', { name: 'Name and sign-in name' });
  const save = async (name, signInName) => {
    await form().getByRole('textbox', { name: 'Display name' }).fill(name);
    await form().getByRole('textbox', { name: 'Sign-in name' }).fill(signInName);
    await form().getByRole('button', { name: 'Save name and sign-in name' }).click();
  };
  try {
    await save('Zoe Keller-Tan', 'zoe.kellertan@contoso.example');
    await expect(page.getByRole('heading', { level: 1, name: 'Zoe Keller-Tan' })).toBeVisible();
    await expect(flash(page)).toContainText('The user signs in with the new sign-in name from now on.');

    await save('Zoe Keller-Tan', 'user36@contoso.example');
    await expect(form().getByRole('alert')).toHaveText('The sign-in name user36@contoso.example is already in use.');
    await expect(form().getByRole('textbox', { name: 'Sign-in name' })).toHaveValue('user36@contoso.example');
  } finally {
    await page.goto(userPage);
    await save('Zoe Keller', 'user35@contoso.example');
  }
  await expect(page.getByRole('heading', { level: 1, name: 'Zoe Keller' })).toBeVisible();
});
