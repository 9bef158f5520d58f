// Apps: a user's Licenses and apps > Apps, turning an app off (the license stays, the data
// is held for 30 days and the confirmation says until when), and the portal listing only
// the apps the user has. Demo data (`allot serve --demo`).
//
// All spec files share one demo server. Users changed here, and nowhere else in the browser
// tests:
//   Allan Deyoung (user02): Business Premium's Exchange Online mailbox off, then on again
//   (the demo has his Office apps off; that stays). His licenses never change.
const { test, expect } = require('@playwright/test');
const { signIn, portalSignIn, openUser, datesAround } = require('./helpers');

const ADMIN = 'admin@contoso.example';
const USER = 'user02@contoso.example';
const NAME = 'Allan Deyoung';
const PREMIUM = 'Business Premium';
const MAILBOX = 'Exchange Online mailbox';

/** The Apps fieldset of `product` on the user's page. */
function appsOf(page, product) {
  return page.getByRole('group', { name: product, exact: true });
}

/** The portal's card of `product` in Your products. */
function portalCard(page, product) {
  return page.getByRole('list', { name: 'Your products' }).getByRole('listitem').filter({ hasText: product });
}

test('turning an app off keeps the license, says until when its data is kept, and the portal stops listing it', async ({
  browser,
}) => {
  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  await signIn(admin, ADMIN);
  await openUser(admin, NAME);

  const apps = appsOf(admin, PREMIUM);
  await expect(apps.getByRole('checkbox', { name: MAILBOX, exact: true })).toBeChecked();
  // The demo turned his Office apps off.
  await expect(apps.getByRole('checkbox', { name: 'Office apps', exact: true })).not.toBeChecked();
  await apps.getByRole('checkbox', { name: MAILBOX, exact: true }).uncheck();
  await apps.getByRole('button', { name: 'Save apps', exact: true }).click();

  await expect(admin.getByRole('heading', { level: 1, name: NAME, exact: true })).toBeVisible();
  const status = admin.getByRole('status');
  await expect(status).toContainText(`Turned off ${MAILBOX} (${PREMIUM}).`);
  const held = await status.innerText();
  const until = datesAround(30).find((d) => held.includes(`Its data is kept until ${d}`));
  expect(until, held).toBeTruthy();
  // The license stays; the box shows the app off with its hold.
  await expect(admin.getByRole('checkbox', { name: PREMIUM, exact: true })).toBeChecked();
  await expect(appsOf(admin, PREMIUM).getByRole('checkbox', { name: MAILBOX, exact: true })).not.toBeChecked();
  await expect(appsOf(admin, PREMIUM)).toContainText(`data kept until ${until}`);

  const userContext = await browser.newContext();
  const portal = await userContext.newPage();
  await portalSignIn(portal, USER);
  await expect(portal.getByRole('heading', { level: 1, name: 'Your products', exact: true })).toBeVisible();
  const card = portalCard(portal, PREMIUM);
  await expect(card).toContainText('Ready to use');
  const listed = card.getByRole('list', { name: `Apps in ${PREMIUM}` });
  await expect(listed.getByRole('listitem').filter({ hasText: 'OneDrive files' })).toHaveCount(1);
  await expect(listed.getByRole('listitem').filter({ hasText: MAILBOX })).toHaveCount(0);
  await expect(listed.getByRole('listitem').filter({ hasText: 'Office apps' })).toHaveCount(0);

  // Back on within the hold: the data is kept, and the portal lists it again.
  await openUser(admin, NAME);
  await appsOf(admin, PREMIUM).getByRole('checkbox', { name: MAILBOX, exact: true }).check();
  await appsOf(admin, PREMIUM).getByRole('button', { name: 'Save apps', exact: true }).click();
  await expect(admin.getByRole('status')).toContainText(`Turned on ${MAILBOX} (${PREMIUM}). Its data was still held and is kept.`);
  await portal.reload();
  await expect(
    portalCard(portal, PREMIUM).getByRole('list', { name: `Apps in ${PREMIUM}` }).getByRole('listitem').filter({ hasText: MAILBOX }),
  ).toHaveCount(1);

  await adminContext.close();
  await userContext.close();
});
