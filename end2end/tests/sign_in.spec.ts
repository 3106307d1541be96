// Journey: an account holder signs in (after a typo), moves around the hydrated app, and signs out.
import { admin, allowConsoleError, expect, signIn, tessera, test, waitForHydration } from "./helpers";

test("a wrong password is refused with the one generic message", async ({ page }) => {
  allowConsoleError(/status of 401/, "it signs in with a wrong password on purpose");
  await page.goto("/login");
  await waitForHydration(page);
  await page.getByLabel("Username").fill(admin.username);
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.locator("#login-error")).toHaveText("Invalid username or password");
  await expect(page).toHaveURL(/\/login$/);
});

test("an unknown username gets exactly the same message", async ({ page }) => {
  allowConsoleError(/status of 401/, "it signs in with an unknown name on purpose");
  await page.goto("/login");
  await waitForHydration(page);
  await page.getByLabel("Username").fill("nobody-here");
  await page.getByLabel("Password").fill("whatever-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.locator("#login-error")).toHaveText("Invalid username or password");
});

test("signing in shows the tokens page, and client-side navigation works", async ({ page }) => {
  await signIn(page);
  await expect(page.getByRole("heading", { name: "API Tokens", exact: true })).toBeVisible();
  await expect(page.getByText("No API tokens yet")).toBeVisible();
  await expect(page.getByTestId("account-name")).toHaveText(admin.username);

  // A marker on window survives only if the next page is rendered by the hydrated app, not reloaded.
  await page.evaluate(() => ((window as unknown as { tesseraMarker: number }).tesseraMarker = 42));
  await page.getByRole("link", { name: "Account", exact: true }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole("heading", { name: "Account", exact: true })).toBeVisible();
  await expect(page.getByText("manage-api-tokens").or(page.getByText("all", { exact: true }))).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { tesseraMarker?: number }).tesseraMarker)).toBe(42);
});

test("signing out ends the session and protected pages send you to sign in", async ({ page }) => {
  await signIn(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/tokens");
  await waitForHydration(page);
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
});

test("an account created with the CLI can sign in", async ({ page }) => {
  const name = `cli-user-${Date.now()}`;
  tessera(["account", "create", name, "--privileges", "manage-api-tokens", "--password-stdin"], "a-long-password\n");
  await signIn(page, name, "a-long-password");
  await expect(page.getByTestId("account-name")).toHaveText(name);
});

test("the session cookie is HttpOnly and SameSite=Strict", async ({ page, context }) => {
  await signIn(page);
  const cookie = (await context.cookies()).find((c) => c.name === "tessera_session");
  expect(cookie?.httpOnly).toBe(true);
  expect(cookie?.sameSite).toBe("Strict");
  expect(await page.evaluate(() => document.cookie)).not.toContain("tessera_session");
});
