// The audit log: failed and successful sign-ins appear; filters and live search narrow the list and live in
// the URL; an account that is not an administrator sees only the events by or about itself.
import { allowConsoleError, expect, newAccount, PASSWORD, signIn, tessera, test, waitForHydration } from "./helpers";

test("sign-ins appear and filters narrow the log", async ({ page }) => {
  allowConsoleError(/status of 401/, "it signs in with a wrong password on purpose, to see the failure in the log");
  const admin = newAccount("audit-admin");
  await page.goto("/login");
  await waitForHydration(page);
  await page.getByLabel("Username").fill(admin);
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText("Invalid username or password")).toBeVisible();
  await signIn(page, admin, PASSWORD);

  await page.goto("/audit");
  await waitForHydration(page);
  await expect(page.getByText("All events")).toBeVisible();
  await page.getByLabel("Action").selectOption({ label: "Sign-ins" });
  await expect(page).toHaveURL(/action=login/);
  await page.getByRole("searchbox", { name: "Search" }).fill(admin);
  await expect(page).toHaveURL(new RegExp(`q=${admin}`));
  const outcomes = page.locator("tbody tr td:nth-child(6)");
  await expect(outcomes).toHaveText(["success", "failure"]);

  // Reload keeps the filters.
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByLabel("Action")).toHaveValue("login");
  await expect(outcomes).toHaveText(["success", "failure"]);

  await page.getByLabel("From", { exact: true }).fill("2000-01-01");
  await page.getByLabel("To", { exact: true }).fill("2000-01-02");
  await expect(page.getByText("No events match")).toBeVisible();
});

test("an account that is not an administrator sees only its own events", async ({ page }) => {
  const name = `auditee-${Date.now() % 1000000}`;
  tessera(["account", "create", name, "--privileges", "manage-api-tokens", "--password-stdin"], `${PASSWORD}\n`);
  await signIn(page, name, PASSWORD);
  await page.goto("/audit");
  await waitForHydration(page);
  await expect(page.getByText("Events by or about your account")).toBeVisible();
  const rows = page.locator("tbody tr");
  await expect(rows).toHaveCount(2); // created by the operator, then signed in
  await expect(rows.nth(0)).toContainText("login");
  await expect(rows.nth(1)).toContainText("account.create");
});
