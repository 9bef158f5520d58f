// Accessibility and phone width: every page of the admin center, the support console and the
// service portal, at 1280 and 375 px, in light and dark colour schemes, has no axe-core
// violations (WCAG 2.0 A and AA, WCAG 2.1 AA), and at 375 px nothing scrolls sideways.
// Read-only: it only opens pages (and sends one form the server refuses), so it can share the
// demo server with the other specs.
const { test, expect } = require('@playwright/test');
const AxeBuilder = require('@axe-core/playwright').default;
const { signIn, portalSignIn } = require('./helpers');

const ADMIN = 'admin@contoso.example';
const BILLING = 'billing@contoso.example';
const SUPPORT = 'support@allot.example';
const PARTNER = 'partner@allot.example';
const PORTAL_USER = 'user01@contoso.example';

const WIDTHS = [1280, 375];
const SCHEMES = ['light', 'dark'];
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21aa'];
const COLOUR_RULES = ['color-contrast', 'link-in-text-block'];

/** The first link on the page whose path matches `pattern`, as a path, or null. */
async function maybeLink(page, pattern) {
  const paths = await page.locator('a[href]').evaluateAll((links) =>
    links.map((a) => new URL(a.href).pathname + new URL(a.href).search));
  return paths.find((p) => pattern.test(p)) || null;
}

/** The first link on the page whose path matches `pattern`, as a path. */
async function firstLink(page, pattern) {
  const found = await maybeLink(page, pattern);
  if (!found) throw new Error(`no link matching ${pattern} on ${page.url()}`);
  return found;
}

/** One readable line per violation and node. */
function describe(violations) {
  return violations.flatMap((v) =>
    v.nodes.map((n) => `${v.id} (${v.impact}): ${v.help}\n    at ${n.target.join(' ')}\n    ${n.failureSummary.replace(/\n/g, '\n    ')}`));
}

/**
 * Checks the page that is open in every width and colour scheme; returns the problems found,
 * each prefixed with where.
 */
async function audit(page, label) {
  const problems = [];
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 800 });
    if (width === 375) {
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      if (scrollWidth !== 375) problems.push(`${label} at 375px: scrollWidth is ${scrollWidth}`);
    }
    for (const colorScheme of SCHEMES) {
      await page.emulateMedia({ colorScheme });
      // Only colours change with the scheme: in dark, the rules about colour (keeps it fast).
      const axe = new AxeBuilder({ page }).withTags(TAGS);
      if (colorScheme === 'dark') axe.withRules(COLOUR_RULES);
      const results = await axe.analyze();
      for (const line of describe(results.violations)) {
        problems.push(`${label} at ${width}px, ${colorScheme}: ${line}`);
      }
    }
  }
  return problems;
}

/** Opens each path and audits it; fails once, listing everything found. */
async function auditAll(page, paths) {
  const problems = [];
  for (const path of paths) {
    const response = await page.goto(path);
    if (response.status() >= 400) {
      problems.push(`GET ${path}: ${response.status()}`);
      continue;
    }
    problems.push(...(await audit(page, path)));
  }
  expect(problems, problems.join('\n')).toEqual([]);
}

// Generous: about 130 axe runs, on a machine that may be busy.
test.describe.configure({ timeout: 300_000 });

test('public pages pass axe and fit a phone', async ({ page }) => {
  await auditAll(page, ['/signin', '/portal/signin']);
  const response = await page.goto('/no-such-page');
  expect(response.status()).toBe(404);
  const problems = await audit(page, 'a missing page');
  expect(problems, problems.join('\n')).toEqual([]);
});

test('every page of the admin center passes axe and fits a phone', async ({ page }) => {
  await signIn(page, ADMIN);
  await expect(page.getByRole('heading', { level: 1, name: 'Home', exact: true })).toBeVisible();
  const nav = await page.getByRole('navigation', { name: 'Admin center' }).locator('a[href]')
    .evaluateAll((links) => links.map((a) => new URL(a.href).pathname));
  expect(nav.length).toBeGreaterThan(8);

  await page.goto('/licenses');
  const product = await firstLink(page, /^\/licenses\/\d+$/);
  await page.goto('/users?filter=licensed');
  const user = await firstLink(page, /^\/users\/\d+$/);
  await page.goto('/groups');
  const group = await firstLink(page, /^\/groups\/\d+$/);
  await page.goto(group);
  const groupApps = await firstLink(page, /^\/groups\/\d+\/licenses\/\d+\/apps$/);
  await page.goto('/billing/bills');
  // The demo starts without bills; other specs' purchases make some.
  const bill = await maybeLink(page, /^\/billing\/bills\/\d+$/);
  await page.goto('/billing/products');
  const subscription = await firstLink(page, /^\/billing\/subscriptions\/\d+$/);
  await page.goto(subscription);
  const subscriptionPages = await page.locator('main a[href]').evaluateAll((links) => links
    .map((a) => new URL(a.href).pathname)
    .filter((p) => /^\/billing\/subscriptions\/\d+\/\w+$/.test(p)));
  await page.goto('/support/requests');
  const request = await maybeLink(page, /^\/support\/requests\/\d+$/);
  const [a, b] = await page.goto('/users').then(() => page.locator('input[name="users"]').evaluateAll(
    (boxes) => boxes.slice(0, 2).map((box) => box.value)));

  await auditAll(page, [
    ...nav,
    '/account',
    product, `${product}/assign`,
    user, '/users/new', `/users/manage?users=${a}&users=${b}`,
    group, groupApps, `${group}/members/add`, '/groups/new',
    ...(bill ? [bill] : []), subscription, ...subscriptionPages, '/billing/buy',
    '/support/requests/new', ...(request ? [request] : []),
    '/settings/api-access/new',
  ]);
});

test('the support console passes axe and fits a phone, for billing support and a partner', async ({ page }) => {
  await signIn(page, SUPPORT);
  await expect(page.getByRole('heading', { level: 1, name: 'Service requests', exact: true })).toBeVisible();
  const request = await firstLink(page, /^\/support\/requests\/\d+$/);
  await auditAll(page, ['/support', '/support/outbox', request, '/account']);

  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await signIn(page, PARTNER);
  await page.goto('/agreements');
  const agreement = await firstLink(page, /^\/agreements\/\d+$/);
  await auditAll(page, ['/support', '/agreements', agreement]);
});

test('the service portal passes axe and fits a phone', async ({ page }) => {
  await portalSignIn(page, PORTAL_USER);
  await expect(page).toHaveURL(/\/portal/);
  await auditAll(page, ['/portal', '/portal/account']);
});

test.describe('at 375px', () => {
  test.use({ viewport: { width: 375, height: 700 } });

  test('the menu button opens the navigation', async ({ page }) => {
    await signIn(page, ADMIN);
    const nav = page.getByRole('navigation', { name: 'Admin center' });
    const licenses = nav.getByRole('link', { name: 'Licenses', exact: true });
    await expect(licenses).toBeHidden();
    await nav.getByText('Menu', { exact: true }).click();
    await expect(licenses).toBeVisible();
    await licenses.click();
    await expect(page.getByRole('heading', { level: 1, name: 'Licenses', exact: true })).toBeVisible();
    // On the next page the menu is closed again.
    await expect(nav.getByRole('link', { name: 'Home', exact: true })).toBeHidden();
  });
});

test('at 1280px the navigation is a visible side column', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await signIn(page, ADMIN);
  const nav = page.getByRole('navigation', { name: 'Admin center' });
  await expect(nav.getByRole('link', { name: 'Licenses', exact: true })).toBeVisible();
  await expect(nav.getByText('Menu', { exact: true })).toBeHidden();
});

test('the service request form shows only the fields the chosen type uses', async ({ page }) => {
  await signIn(page, BILLING);
  await page.goto('/support/requests/new');
  const type = page.getByLabel('Request type');
  await type.selectOption({ label: 'Billing question' });
  await expect(page.getByLabel('Agreement number')).toBeHidden();
  await expect(page.getByLabel('Subscription')).toBeHidden();
  await expect(page.getByLabel('Number of licenses')).toBeHidden();
  await expect(page.getByLabel('Problem description')).toBeVisible();

  await type.selectOption({ label: 'Add licenses' });
  await expect(page.getByLabel('Subscription')).toBeVisible();
  await expect(page.getByLabel('Subscription')).toHaveAttribute('required', '');
  await expect(page.getByLabel('Number of licenses')).toHaveAttribute('required', '');
  await expect(page.getByLabel('Agreement number')).toBeHidden();

  await type.selectOption({ label: 'Remap agreement' });
  await expect(page.getByLabel('Agreement number')).toBeVisible();
  await expect(page.getByLabel('Agreement number')).toHaveAttribute('required', '');
  await expect(page.getByLabel('Subscription')).toBeHidden();

  // The server still checks: past the browser's check, its answer marks the field.
  await type.selectOption({ label: 'Cancel subscription' });
  await page.getByLabel('Subscription').evaluate((select) => { select.required = false; });
  await page.getByLabel('Problem description').fill('Please cancel it, we do not need it any more.');
  await page.getByRole('button', { name: 'Submit', exact: true }).click();
  const subscription = page.getByLabel('Subscription');
  await expect(subscription).toHaveAttribute('aria-invalid', 'true');
  await expect(subscription).toBeVisible();
  await expect(subscription).toBeFocused();
  const problems = await audit(page, 'the refused request form');
  expect(problems, problems.join('\n')).toEqual([]);
});

test('a form shows it is busy while it submits and sends once', async ({ page }) => {
  await signIn(page, ADMIN);
  await page.goto('/users');
  // The answer waits until the busy state has been looked at.
  let sent = 0;
  let answer;
  const answered = new Promise((resolve) => { answer = resolve; });
  await page.route(/\/users\?/, async (route) => {
    sent += 1;
    await answered;
    await route.continue();
  });
  // While a navigation is pending Playwright waits before reading the page, so the page
  // reports what it shows, and clicks a second time, as soon as the form turns busy.
  const seen = [];
  await page.exposeBinding('reportBusy', (_source, state) => { seen.push(state); });
  await page.getByLabel('Search', { exact: true }).fill('Alex');
  await page.evaluate(() => {
    const form = document.querySelector('form[role="search"]');
    const button = form.querySelector('button');
    new MutationObserver(() => {
      window.reportBusy([form.getAttribute('aria-busy'), button.getAttribute('aria-disabled')]);
      button.click();
    }).observe(form, { attributes: true, attributeFilter: ['aria-busy'] });
    button.click();
  });
  await expect.poll(() => seen.length).toBeGreaterThan(0);
  expect(seen[0]).toEqual(['true', 'true']);
  answer();
  await expect(page).toHaveURL(/q=Alex/);
  await expect(page.getByRole('link', { name: 'Alex Wilber', exact: true })).toBeVisible();
  expect(sent).toBe(1);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a refused service request marks the field, with the message beside it and focus there', async ({ page }) => {
    await signIn(page, BILLING);
    await page.goto('/support/requests/new');
    // Without the script every field shows and the server checks.
    await expect(page.getByLabel('Agreement number')).toBeVisible();
    await page.getByLabel('Request type').selectOption({ label: 'Cancel subscription' });
    await page.getByLabel('Problem description').fill('Please cancel it, we do not need it any more.');
    await page.getByRole('button', { name: 'Submit', exact: true }).click();
    const subscription = page.getByLabel('Subscription');
    await expect(subscription).toHaveAttribute('aria-invalid', 'true');
    await expect(subscription).toHaveAccessibleDescription(/Choose the subscription this request is about/);
    await expect(subscription).toBeFocused();
    await expect(page.getByRole('alert')).toContainText('Choose the subscription this request is about');
  });
});
