// Journey: tokens about to expire are yellow, expired ones red, each with an explained notice icon.
import { createToken, expect, newAccount, PASSWORD, setExpiry, signIn, test } from "./helpers";

test("yellow within 24 hours of expiry, red once expired, plain otherwise", async ({ page }) => {
  const account = newAccount("colours");
  createToken(account, "fine");
  createToken(account, "soon");
  createToken(account, "gone");
  createToken(account, "forever", ["--expires", "never"]);
  setExpiry(account, "soon", new Date(Date.now() + 5 * 3600 * 1000 + 30 * 60 * 1000));
  setExpiry(account, "gone", new Date(Date.now() - 2 * 86400 * 1000));
  await signIn(page, account, PASSWORD);

  const soon = page.locator("tr", { hasText: "soon" });
  await expect(soon).toHaveClass(/row-soon/);
  await expect(soon.getByRole("img", { name: "Expires in 5 hours" })).toBeVisible();
  await expect(soon.getByRole("img")).toHaveAttribute("title", "Expires in 5 hours");

  const gone = page.locator("tr", { hasText: "gone" });
  await expect(gone).toHaveClass(/row-expired/);
  await expect(gone.getByRole("img", { name: /^Expired on / })).toBeVisible();

  for (const plain of ["fine", "forever"]) {
    const row = page.locator("tr", { hasText: plain });
    await expect(row).not.toHaveClass(/row-(soon|expired)/);
    await expect(row.getByRole("img")).toHaveCount(0);
  }
  await expect(page.locator("tr", { hasText: "forever" })).toContainText("Never");
  const colours = await Promise.all([soon, gone].map((r) => r.evaluate((el) => getComputedStyle(el).backgroundColor)));
  expect(colours[0]).not.toBe(colours[1]);
});
