// Journey: rotate a token from its Manage page and see the new secret once.
import { createToken, expect, newAccount, PASSWORD, signIn, test } from "./helpers";

test("rotate a token from its Manage page", async ({ page }) => {
  const account = newAccount("rotate");
  const first = createToken(account, "ci-deploy");
  await signIn(page, account, PASSWORD);
  await page.locator("tr", { hasText: "ci-deploy" }).getByRole("link", { name: "Manage" }).click();
  await expect(page.getByRole("heading", { name: "Manage “ci-deploy”" })).toBeVisible();

  // Rotate: confirm, see the new secret once.
  await page.getByRole("button", { name: "Rotate…" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Rotate" }).click();
  await expect(page.getByRole("heading", { name: "Token rotated: here is the new secret" })).toBeVisible();
  const second = await page.getByLabel("Token secret").inputValue();
  expect(second).toMatch(/^tsr_/);
  expect(second).not.toBe(first);
  await page.getByRole("button", { name: "Yes, I saved my token" }).click();
  await expect(page.getByRole("heading", { name: "Manage “ci-deploy”" })).toBeVisible();
});
