// Shared helpers for allot's browser tests.
const { expect } = require('@playwright/test');

const DEMO_PASSWORD = 'allot-demo';

/** Sign in through the sign-in form. Does not assert where it lands. */
async function signIn(page, email, password = DEMO_PASSWORD) {
  await page.goto('/signin');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Sign out with the "Sign out" button. */
async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
}

module.exports = { signIn, signOut, DEMO_PASSWORD, expect };
