// Journey: revoke a token that someone else revoked meanwhile: the failure is an error toast in the upper-right
// corner, announced assertively, and the refreshed list shows what is really left.
import { allowConsoleError, createToken, expect, newAccount, PASSWORD, signIn, tessera, test } from "./helpers";

test("revoking a token revoked elsewhere meanwhile shows an error toast", async ({ page }) => {
  allowConsoleError(/status of 404/, "the token is revoked behind the page's back, so revoking it again is refused");
  const account = newAccount("gone");
  createToken(account, "ghost");
  createToken(account, "stays");
  await signIn(page, account, PASSWORD);
  await expect(page.locator(".range")).toHaveText("1–2 of 2");

  tessera(["token", "revoke", "--account", account, "ghost"]);
  await page.locator('tr[data-token="ghost"]').getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("dialog", { name: "Revoke API token “ghost”?" }).getByRole("button", { name: "Revoke" }).click();

  const toast = page.getByRole("alert").locator(".toast");
  await expect(toast).toContainText("Could not revoke");
  await expect(page.getByRole("status").locator(".toast")).toHaveCount(0);
  const box = (await toast.boundingBox())!;
  const viewport = page.viewportSize()!;
  expect(box.y, "at the top").toBeLessThan(100);
  expect(viewport.width - (box.x + box.width), "at the right edge").toBeLessThan(40);

  await expect(page.locator(".range")).toHaveText("1–1 of 1");
  await expect(page.locator('tr[data-token="stays"]')).toBeVisible();
  await toast.getByRole("button", { name: "Dismiss" }).click();
  await expect(toast).toHaveCount(0);
});
