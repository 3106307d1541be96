// An admin manages accounts in the browser, and the API follows at once: create, suspend (its token is
// refused), unsuspend, rename (the token keeps working under the new name), delete (its tokens are gone), and
// every step shows up in the audit log.
import { type APIRequestContext } from "@playwright/test";
import { createToken, expect, newAccount, PASSWORD, signIn, tessera, test, waitForHydration } from "./helpers";

async function authStatus(request: APIRequestContext, user: string, secret: string): Promise<number> {
  const response = await request.get("/api/v1/auth?privilege=list-accts", {
    headers: { Authorization: `cpanel ${user}:${secret}` },
  });
  return response.status();
}

test("create, suspend, rename and delete an account; its token follows each step", async ({ page, request }) => {
  const admin = newAccount("accounts-admin");
  const member = `member-${Date.now() % 1000000}`;
  const renamed = `${member}-renamed`;
  await signIn(page, admin, PASSWORD);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Accounts" }).click();
  await expect(page.getByRole("heading", { name: "Accounts", level: 1 })).toBeVisible();
  await page.getByRole("link", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Create an account" })).toBeVisible();
  await waitForHydration(page);

  const create = page.getByRole("button", { name: "Create account" });
  await expect(create).toBeDisabled();
  await page.getByRole("textbox", { name: "Username" }).fill("bad name");
  await expect(page.locator("#account-name-error")).toContainText("contains “ ”");
  await page.getByRole("textbox", { name: "Username" }).fill(member);
  await page.getByLabel("Password", { exact: true }).fill("short");
  await expect(page.locator("#account-password-error")).toContainText("at least 8 characters");
  await page.getByLabel("Password", { exact: true }).fill("password123");
  await expect(page.locator("#account-password-strength")).toContainText("Weak");
  await page.getByLabel("Password", { exact: true }).fill("violet-canyon-harbor-42");
  await expect(page.locator("#account-password-strength")).toContainText(/Good|Strong/);
  await page.getByRole("checkbox", { name: /Manage API Tokens/ }).check();
  await page.getByRole("checkbox", { name: /List Accounts/ }).check();
  await expect(create).toBeEnabled();
  await create.click();
  await expect(page.getByRole("status").getByText(`Created account “${member}”.`)).toBeVisible();
  await expect(page).toHaveURL(/\/accounts$/);

  // Live search finds it.
  await page.getByRole("searchbox", { name: "Search accounts by name" }).fill(member);
  await expect(page).toHaveURL(new RegExp(`q=${member}`));
  const row = page.locator("tr", { has: page.getByRole("link", { name: member, exact: true }) });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("Active");

  // The new account signs in (its password works) and has a token the API accepts.
  const secret = createToken(member, "sync", ["--privilege", "list-accts"]);
  expect(await authStatus(request, member, secret)).toBe(200);

  await row.getByRole("button", { name: "Suspend" }).click();
  await expect(page.getByRole("status").getByText(`Suspended “${member}”`)).toBeVisible();
  await expect(row).toContainText("Suspended");
  expect(await authStatus(request, member, secret)).toBe(401);
  await row.getByRole("button", { name: "Unsuspend" }).click();
  await expect(row).toContainText("Active");
  expect(await authStatus(request, member, secret)).toBe(200);

  await row.getByRole("link", { name: "Manage" }).click();
  await expect(page.getByRole("heading", { name: `Account “${member}”` })).toBeVisible();
  await waitForHydration(page);
  await page.getByRole("textbox", { name: "Username" }).fill(renamed);
  await page.getByRole("button", { name: "Rename" }).click();
  await expect(page.getByRole("status").getByText(`Renamed to “${renamed}”`)).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`/accounts/manage/${renamed}$`));
  expect(await authStatus(request, renamed, secret)).toBe(200);
  expect(await authStatus(request, member, secret)).toBe(401);

  await page.getByRole("button", { name: "Delete account…" }).click();
  const dialog = page.getByRole("dialog", { name: `Delete account “${renamed}”?` });
  await expect(dialog).toContainText("Its 1 API token will be revoked");
  await dialog.getByRole("button", { name: "Delete account" }).click();
  await expect(page.getByRole("status").getByText("Deleted the account and revoked 1 API token.")).toBeVisible();
  await expect(page).toHaveURL(/\/accounts$/);
  expect(await authStatus(request, renamed, secret)).toBe(401);

  // The audit log tells the story, newest first.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();
  await waitForHydration(page);
  await page.getByRole("textbox", { name: "Target" }).fill(member);
  await expect(page).toHaveURL(new RegExp(`target=${member}`));
  const actions = page.locator("tbody tr td:nth-child(3)");
  await expect(actions).toHaveText(["account.delete", "account.rename", "account.unsuspend", "account.suspend", "account.create"]);
  await expect(page.locator("tbody tr").first()).toContainText("1 token(s) revoked");
});

test("an account without the privileges sees neither the Accounts link nor the screen's data", async ({ page }) => {
  const name = `plain-${Date.now() % 1000000}`;
  tessera(["account", "create", name, "--privileges", "manage-api-tokens", "--password-stdin"], `${PASSWORD}\n`);
  await signIn(page, name, PASSWORD);
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Audit log" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Accounts" })).toHaveCount(0);
  await page.goto("/accounts");
  await waitForHydration(page);
  await expect(page.locator(".state-card")).toContainText("“list-accts”");
});
