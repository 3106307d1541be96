// axe-core on every screen, light and dark: no serious or critical violations.
import { createToken, expect, expectAccessible, newAccount, PASSWORD, setExpiry, signIn, test, waitForHydration } from "./helpers";

for (const colorScheme of ["light", "dark"] as const) {
  test.describe(`${colorScheme} theme`, () => {
    test.use({ colorScheme });

    test("every screen passes axe", async ({ page }) => {
      await page.goto("/login");
      await waitForHydration(page);
      await expectAccessible(page, "login");

      const account = newAccount(`axe-${colorScheme}`);
      createToken(account, "plain", ["--ip", "10.0.0.0/8", "--ip", "192.0.2.1", "--ip", "2001:db8::/32"]);
      createToken(account, "soon");
      createToken(account, "gone");
      setExpiry(account, "soon", new Date(Date.now() + 3 * 3600 * 1000));
      setExpiry(account, "gone", new Date(Date.now() - 86400 * 1000));
      const empty = newAccount(`axe-empty-${colorScheme}`);
      await signIn(page, empty, PASSWORD);
      await expect(page.getByText("No API tokens yet")).toBeVisible();
      await expectAccessible(page, "tokens list, empty");
      await page.getByRole("button", { name: "Sign out" }).click();
      await expect(page).toHaveURL(/\/login/);

      await signIn(page, account, PASSWORD);
      await expect(page.locator("tbody tr")).toHaveCount(3);
      await expectAccessible(page, "tokens list");

      await page.locator("tr", { hasText: "plain" }).getByRole("button", { name: "Revoke" }).click();
      await expect(page.getByRole("dialog", { name: "Revoke API token “plain”?" })).toBeVisible();
      await expectAccessible(page, "revoke confirmation");
      await page.keyboard.press("Escape");
      await expect(page.getByRole("dialog")).toBeHidden();

      await page.getByLabel("Search tokens by name").fill("zzz");
      await expect(page.getByRole("heading", { name: "No tokens match “zzz”" })).toBeVisible();
      await expectAccessible(page, "tokens list, no match");

      await page.goto("/tokens/new");
      await waitForHydration(page);
      await page.getByRole("button", { name: "Choose date" }).click();
      await expect(page.getByRole("dialog")).toBeVisible();
      await expectAccessible(page, "create form with calendar");
      await page.keyboard.press("Escape");

      await page.getByRole("textbox", { name: "Name" }).fill("revealed");
      await page.getByRole("button", { name: "Create", exact: true }).click();
      await expect(page.getByLabel("Token secret")).toBeVisible();
      await expectAccessible(page, "reveal");
      await page.getByRole("button", { name: "Yes, I saved my token" }).click();

      await page.goto("/tokens/manage/plain");
      await waitForHydration(page);
      await expect(page.getByRole("heading", { name: "Manage “plain”" })).toBeVisible();
      await expectAccessible(page, "manage");
      await page.getByRole("button", { name: "Rotate…" }).click();
      await expect(page.getByRole("dialog", { name: "Rotate “plain”?" })).toBeVisible();
      await expectAccessible(page, "rotate confirmation");
      await page.keyboard.press("Escape");

      for (const [path, label, ready] of [
        ["/accounts", "accounts", "tbody tr"],
        ["/accounts/new", "create account", "#account-name"],
        [`/accounts/manage/${account}`, "manage account", "#account-name"],
        ["/privileges", "privileges", "#privilege-name"],
        ["/audit", "audit log", "tbody tr"],
        ["/account", "account and password", "#new-password"],
      ]) {
        await page.goto(path);
        await waitForHydration(page);
        await expect(page.locator(ready).first()).toBeVisible();
        await expectAccessible(page, label);
      }
    });
  });
}

test("usable at 360 px wide", async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  const account = newAccount("narrow");
  createToken(account, "phone-token");
  await signIn(page, account, PASSWORD);
  await expect(page.locator("tr", { hasText: "phone-token" })).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, "the page itself does not scroll sideways (the table scrolls in its card)").toBeLessThanOrEqual(0);
  await page.goto("/tokens/new");
  await waitForHydration(page);
  const formOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(formOverflow).toBeLessThanOrEqual(0);
  await page.getByRole("button", { name: "Choose date" }).click();
  const calendar = await page.getByRole("dialog").boundingBox();
  expect(calendar!.x, "the open calendar fits the screen").toBeGreaterThanOrEqual(0);
  expect(calendar!.x + calendar!.width).toBeLessThanOrEqual(360);
  await page.keyboard.press("Escape");
  await page.getByRole("textbox", { name: "Name" }).fill("narrow-reveal");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await expect(page.getByLabel("Token secret")).toBeVisible();
  const copy = await page.getByRole("button", { name: "Copy" }).boundingBox();
  expect(copy!.x + copy!.width, "the Copy button stays on screen beside the secret").toBeLessThanOrEqual(360);
  expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
  await page.getByRole("button", { name: "Yes, I saved my token" }).click();
  for (const path of ["/tokens/manage/phone-token", "/accounts", "/audit", "/privileges", "/account"]) {
    await page.goto(path);
    await waitForHydration(page);
    const pageOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(pageOverflow, `${path} fits 360 px`).toBeLessThanOrEqual(0);
  }
});
