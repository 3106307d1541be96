// Journey: manage one token: rename, edit allowlist and privileges, rotate (reveal once), revoke.
import { expect, test } from "@playwright/test";
import { PASSWORD, createToken, newAccount, signIn } from "./helpers";

test("rename, edit, rotate and revoke a token from its Manage page", async ({ page }) => {
  const account = newAccount("manage");
  const first = createToken(account, "old-name");
  createToken(account, "other");
  await signIn(page, account, PASSWORD);
  await page.locator("tr", { hasText: "old-name" }).getByRole("link", { name: "Manage" }).click();
  await expect(page.getByRole("heading", { name: "Manage “old-name”" })).toBeVisible();
  await expect(page.getByText("The expiry cannot be changed after a token is created")).toBeVisible();

  // Rename: a taken name is reported while typing; the token's own name in another case is not "taken".
  const name = page.getByRole("textbox", { name: "Name" });
  const rename = page.getByRole("button", { name: "Rename" });
  await name.fill("other");
  await expect(page.locator("#token-name-error")).toHaveText("The name “other” is already in use.");
  await expect(rename).toBeDisabled();
  const checked = page.waitForResponse((r) => r.url().endsWith("/rpc/check_token_name"));
  await name.fill("OLD-NAME");
  await checked;
  await expect(page.locator("#token-name-error")).toBeEmpty();
  await expect(rename).toBeEnabled();
  await name.fill("new-name");
  await page.getByRole("button", { name: "Rename" }).click();
  await expect(page).toHaveURL(/\/tokens\/manage\/new-name$/);
  await expect(page.getByRole("status").filter({ hasText: "Renamed to “new-name”." })).toBeVisible();

  // Edit allowlist and privileges.
  await page.getByRole("textbox", { name: "IP allowlist" }).fill("10.0.0.0/33");
  await expect(page.locator("#token-allowlist-error")).toContainText("line 1: 10.0.0.0/33 is not a valid range");
  await expect(page.getByRole("button", { name: "Save changes" })).toBeDisabled();
  await page.getByRole("textbox", { name: "IP allowlist" }).fill("198.51.100.0/24, 2001:db8::1");
  await page.getByRole("checkbox", { name: /Change Password/ }).check();
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved the allowlist and privileges" })).toBeVisible();
  await page.reload();
  await expect(page.getByRole("textbox", { name: "IP allowlist" })).toHaveValue("198.51.100.0/24\n2001:db8::1");
  await expect(page.getByRole("checkbox", { name: /Change Password/ })).toBeChecked();

  // Rotate: confirm, see the new secret once.
  await page.getByRole("button", { name: "Rotate…" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Rotate" }).click();
  await expect(page.getByRole("heading", { name: "Token rotated: here is the new secret" })).toBeVisible();
  const second = await page.getByLabel("Token secret").inputValue();
  expect(second).toMatch(/^tsr_/);
  expect(second).not.toBe(first);
  await page.getByRole("button", { name: "Yes, I saved my token" }).click();
  await expect(page.getByRole("heading", { name: "Manage “new-name”" })).toBeVisible();

  // Revoke: cancel first (nothing happens, focus returns), then confirm.
  const revokeButton = page.getByRole("button", { name: "Revoke…" });
  await revokeButton.click();
  const dialog = page.getByRole("dialog", { name: "Revoke API token “new-name”?" });
  await expect(dialog).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(revokeButton).toBeFocused();
  await revokeButton.click();
  await dialog.getByRole("button", { name: "Revoke" }).click();
  await expect(page).toHaveURL(/\/tokens$/);
  await expect(page.getByRole("status").filter({ hasText: "Revoked API token “new-name”." })).toBeVisible();
  await expect(page.locator("tr", { hasText: "new-name" })).toHaveCount(0);
});

test("leaving an unconfirmed secret asks first", async ({ page }) => {
  const account = newAccount("leave");
  await signIn(page, account, PASSWORD);
  await page.goto("/tokens/new");
  await page.getByRole("textbox", { name: "Name" }).fill("unsaved");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await expect(page.getByLabel("Token secret")).toBeVisible();

  const questions: string[] = [];
  page.on("dialog", async (d) => {
    questions.push(d.type());
    await d.dismiss();
  });
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account", exact: true }).click();
  await expect.poll(() => questions).toEqual(["confirm"]);
  await expect(page.getByLabel("Token secret")).toBeVisible();
  await expect(page).toHaveURL(/\/tokens\/new$/);

  // The browser's Back button asks too: staying keeps the secret on screen...
  await page.evaluate(() => history.back());
  await expect.poll(() => questions).toEqual(["confirm", "confirm"]);
  await expect(page.getByLabel("Token secret")).toBeVisible();
  await expect(page).toHaveURL(/\/tokens\/new$/);

  // Closing the tab asks as well (the browser's own question, before the page unloads).
  await page.close({ runBeforeUnload: true });
  await expect.poll(() => questions).toEqual(["confirm", "confirm", "beforeunload"]);
  expect(page.isClosed()).toBe(false);
  await expect(page.getByLabel("Token secret")).toBeVisible();

  // ...and agreeing leaves.
  page.removeAllListeners("dialog");
  page.on("dialog", async (d) => {
    questions.push(d.type());
    await d.accept();
  });
  await page.evaluate(() => history.back());
  await expect.poll(() => questions.length).toBe(4);
  await expect(page).toHaveURL(/\/tokens$/);
});
