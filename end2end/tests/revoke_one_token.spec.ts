// Journey: revoke one token from its row; the dialog names it and a toast confirms it.
import { createToken, expect, newAccount, PASSWORD, signIn, test } from "./helpers";

test("revoke one token from its row", async ({ page }) => {
  const account = newAccount("revoke-one");
  for (const name of ["alpha", "bravo", "charlie", "delta", "echo"]) {
    createToken(account, name);
  }
  await signIn(page, account, PASSWORD);
  const range = page.locator(".range");
  await expect(range).toHaveText("1–5 of 5");

  // One, from its row; the dialog names it.
  await page.locator("tr", { hasText: "alpha" }).getByRole("button", { name: "Revoke" }).click();
  const one = page.getByRole("dialog", { name: "Revoke API token “alpha”?" });
  await one.getByRole("button", { name: "Revoke" }).click();
  await expect(range).toHaveText("1–4 of 4");
  await expect(page.getByRole("status").filter({ hasText: "Revoked API token “alpha”." })).toBeVisible();
});
