// Journey: narrow the list with a search, select every match, revoke them: only the matches go, never the
// tokens the search hid; and a new search starts a new selection.
import { createToken, expect, newAccount, PASSWORD, signIn, test } from "./helpers";

test("selecting every search result revokes those tokens, not all of them", async ({ page }) => {
  const account = newAccount("revoke-search");
  for (const name of ["deploy-a", "deploy-b", "backup-c", "backup-d"]) {
    createToken(account, name);
  }
  await signIn(page, account, PASSWORD);
  const range = page.locator(".range");
  await expect(range).toHaveText("1–4 of 4");

  // A box ticked before searching is not carried into the results.
  await page.getByRole("checkbox", { name: "Select backup-c" }).check();
  await expect(page.getByRole("button", { name: "Revoke selected (1)" })).toBeEnabled();
  await page.getByLabel("Search tokens by name").fill("deploy");
  await expect(range).toHaveText("1–2 of 2");
  await expect(page.getByRole("button", { name: "Revoke selected (0)" })).toBeDisabled();

  await page.getByRole("checkbox", { name: "Select all tokens on this page" }).check();
  await page.getByRole("button", { name: "Revoke selected (2)" }).click();
  const dialog = page.getByRole("dialog", { name: "Revoke 2 API tokens?" });
  await expect(dialog.getByRole("listitem")).toHaveText(["deploy-a", "deploy-b"]);
  await dialog.getByRole("button", { name: "Revoke" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Revoked 2 API tokens." })).toBeVisible();

  await page.getByLabel("Search tokens by name").fill("");
  await expect(range).toHaveText("1–2 of 2");
  await expect(page.locator("tbody tr")).toHaveCount(2);
  await expect(page.locator("tbody tr", { hasText: "backup-c" })).toBeVisible();
  await expect(page.locator("tbody tr", { hasText: "backup-d" })).toBeVisible();
});
