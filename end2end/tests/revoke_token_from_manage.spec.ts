// Journey: revoke a token from its Manage page: cancelling changes nothing, confirming returns to the list.
import { createToken, expect, newAccount, PASSWORD, signIn, test } from "./helpers";

test("revoke a token from its Manage page", async ({ page }) => {
  const account = newAccount("revoke-manage");
  createToken(account, "ci-deploy");
  createToken(account, "other");
  await signIn(page, account, PASSWORD);
  await page.locator("tr", { hasText: "ci-deploy" }).getByRole("link", { name: "Manage" }).click();
  await expect(page.getByRole("heading", { name: "Manage “ci-deploy”" })).toBeVisible();

  // Revoke: cancel first (nothing happens, focus returns), then confirm.
  const revokeButton = page.getByRole("button", { name: "Revoke…" });
  await revokeButton.click();
  const dialog = page.getByRole("dialog", { name: "Revoke API token “ci-deploy”?" });
  await expect(dialog).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(revokeButton).toBeFocused();
  await revokeButton.click();
  await dialog.getByRole("button", { name: "Revoke" }).click();
  await expect(page).toHaveURL(/\/tokens$/);
  await expect(page.getByRole("status").filter({ hasText: "Revoked API token “ci-deploy”." })).toBeVisible();
  await expect(page.locator("tr", { hasText: "ci-deploy" })).toHaveCount(0);
  await expect(page.locator("tr", { hasText: "other" })).toBeVisible();
});
