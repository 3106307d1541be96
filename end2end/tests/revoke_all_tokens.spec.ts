// Journey: revoke every token, by selecting them all and from the gear menu's "Revoke all".
import { createToken, expect, newAccount, PASSWORD, signIn, test } from "./helpers";

test("revoke all tokens by selecting every one, and from the gear menu", async ({ page }) => {
  const account = newAccount("revoke-all");
  for (const name of ["delta", "echo"]) {
    createToken(account, name);
  }
  await signIn(page, account, PASSWORD);
  const range = page.locator(".range");
  await expect(range).toHaveText("1–2 of 2");

  // Selecting every token asks to revoke all.
  await page.getByRole("checkbox", { name: "Select all tokens on this page" }).check();
  await page.getByRole("button", { name: "Revoke selected (2)" }).click();
  const all = page.getByRole("dialog", { name: "Revoke all API tokens?" });
  await all.getByRole("button", { name: "Revoke all tokens" }).click();
  await expect(page.getByText("No API tokens yet")).toBeVisible();

  // And from the gear menu.
  createToken(account, "foxtrot");
  createToken(account, "golf");
  await page.getByLabel("Table settings").first().click();
  await page.getByRole("button", { name: "Refresh list" }).click();
  await expect(range).toHaveText("1–2 of 2");
  await page.getByRole("button", { name: "Revoke all" }).click();
  await page.getByRole("dialog", { name: "Revoke all API tokens?" }).getByRole("button", { name: "Revoke all tokens" }).click();
  await expect(page.getByText("No API tokens yet")).toBeVisible();
  await expect(page.getByRole("status").filter({ hasText: "Revoked all 2 API tokens." })).toBeVisible();
});
