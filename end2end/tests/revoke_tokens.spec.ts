// Journey: revoke one token from its row, several selected ones, and all of them.
import { expect, test } from "@playwright/test";
import { PASSWORD, createToken, newAccount, signIn } from "./helpers";

test("revoke one, revoke selected, and revoke all", async ({ page }) => {
  const account = newAccount("revoke");
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

  // Selected ones; the dialog lists them.
  await page.getByRole("checkbox", { name: "Select bravo" }).check();
  await page.getByRole("checkbox", { name: "Select charlie" }).check();
  await page.getByRole("button", { name: "Revoke selected (2)" }).click();
  const some = page.getByRole("dialog", { name: "Revoke 2 API tokens?" });
  await expect(some.getByRole("listitem")).toHaveText(["bravo", "charlie"]);
  await some.getByRole("button", { name: "Revoke" }).click();
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
