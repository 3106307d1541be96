// Journey: edit a token's IP allowlist and privileges from its Manage page; the expiry stays read-only.
import { createToken, expect, newAccount, PASSWORD, signIn, test, waitForHydration } from "./helpers";

test("edit a token's allowlist and privileges from its Manage page", async ({ page }) => {
  const account = newAccount("edit");
  createToken(account, "ci-deploy");
  await signIn(page, account, PASSWORD);
  await page.locator("tr", { hasText: "ci-deploy" }).getByRole("link", { name: "Manage" }).click();
  await expect(page.getByRole("heading", { name: "Manage “ci-deploy”" })).toBeVisible();
  await expect(page.getByText("The expiry cannot be changed after a token is created")).toBeVisible();

  // Edit allowlist and privileges.
  await page.getByRole("textbox", { name: "IP allowlist" }).fill("10.0.0.0/33");
  await expect(page.locator("#token-allowlist-error")).toContainText("line 1: 10.0.0.0/33 is not a valid range");
  await expect(page.getByRole("button", { name: "Save changes" })).toBeDisabled();
  await page.getByRole("textbox", { name: "IP allowlist" }).fill("198.51.100.0/24, 2001:db8::1");
  await page.getByRole("checkbox", { name: /Change Password/ }).check();
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved the access rules of" })).toBeVisible();
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByRole("textbox", { name: "IP allowlist" })).toHaveValue("198.51.100.0/24\n2001:db8::1");
  await expect(page.getByRole("checkbox", { name: /Change Password/ })).toBeChecked();
});
