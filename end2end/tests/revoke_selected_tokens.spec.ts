// Journey: tick several tokens and revoke them together; the dialog lists them.
import { createToken, expect, newAccount, PASSWORD, signIn, test } from "./helpers";

test("revoke selected tokens", async ({ page }) => {
  const account = newAccount("revoke-selected");
  for (const name of ["bravo", "charlie", "delta", "echo"]) {
    createToken(account, name);
  }
  await signIn(page, account, PASSWORD);
  const range = page.locator(".range");
  await expect(range).toHaveText("1–4 of 4");

  // Selected ones; the dialog lists them.
  await page.getByRole("checkbox", { name: "Select bravo" }).check();
  await page.getByRole("checkbox", { name: "Select charlie" }).check();
  await page.getByRole("button", { name: "Revoke selected (2)" }).click();
  const some = page.getByRole("dialog", { name: "Revoke 2 API tokens?" });
  await expect(some.getByRole("listitem")).toHaveText(["bravo", "charlie"]);
  await some.getByRole("button", { name: "Revoke" }).click();
  await expect(range).toHaveText("1–2 of 2");
  await expect(page.locator("tbody tr", { hasText: "delta" })).toBeVisible();
  await expect(page.locator("tbody tr", { hasText: "echo" })).toBeVisible();
});
