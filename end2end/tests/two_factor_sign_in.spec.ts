// Journey: a person turns on two-factor authentication with an authenticator app (QR code or the key as text,
// confirmed by one code), keeps the recovery codes, then signs in with the password and a code, and with a
// recovery code when the app is not at hand; finally removes the app with the password (issue 19). Codes come
// from the `otpauth` package, a TOTP implementation we did not write.
import * as OTPAuth from "otpauth";
import type { Page } from "@playwright/test";
import { allowConsoleError, expect, expectAccessible, newAccount, PASSWORD, signIn, test, waitForHydration } from "./helpers";

/** Signs out, types the password of `account` and lands on the page that asks for the second factor. */
async function signOutAndTypePassword(page: Page, account: string) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel("Username").fill(account);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/login\/code$/);
}

test("a person turns on an authenticator app and signs in with a code, then with a recovery code", async ({ page }) => {
  allowConsoleError(/status of (401|422)/, "wrong codes are refused on purpose (422 at set-up, 401 at sign-in), to show the messages");
  const member = newAccount("twofactor");
  await signIn(page, member, PASSWORD);

  await page.goto("/account");
  await waitForHydration(page);
  const card = page.getByRole("region", { name: "Two-factor authentication" });
  await expect(card).toContainText("Signing in asks for your password only");
  await card.getByRole("button", { name: "Set up an authenticator app" }).click();
  await expect(card.getByRole("img", { name: "QR code for your authenticator app" }).locator("svg")).toBeVisible();
  const secret = (await card.getByTestId("totp-secret").textContent())?.trim() ?? "";
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: "SHA1" });
  await expectAccessible(page, "setting up an authenticator app");
  if (process.env.TESSERA_SCREENSHOT_DIR) {
    await card.screenshot({ path: `${process.env.TESSERA_SCREENSHOT_DIR}/two-factor-setup.png` });
  }

  // A wrong code is refused next to the field; the app's code turns it on and shows ten recovery codes once.
  const now = totp.generate();
  await card.getByLabel("Code from the app").fill(now === "000000" ? "111111" : "000000");
  await card.getByRole("button", { name: "Turn on" }).click();
  await expect(card.getByRole("alert")).toContainText("That code does not match");
  await card.getByLabel("Code from the app").fill(now);
  await card.getByRole("button", { name: "Turn on" }).click();
  const codes = card.getByTestId("recovery-codes").locator("li");
  await expect(codes).toHaveCount(10);
  const recovery = (await codes.allTextContents()).map((code) => code.trim());
  expect(recovery.every((code) => /^[a-z2-9]{5}-[a-z2-9]{5}$/.test(code))).toBe(true);
  await expect(card).toContainText("shown only this once");
  await expectAccessible(page, "the recovery codes, shown once");
  if (process.env.TESSERA_SCREENSHOT_DIR) {
    await card.screenshot({ path: `${process.env.TESSERA_SCREENSHOT_DIR}/recovery-codes.png` });
  }
  await card.getByRole("button", { name: "I have saved my recovery codes" }).click();
  await expect(card).toContainText("10 of 10 recovery codes left");

  // Signing in now takes the password and then a code (the next one: the one that turned it on is used).
  await signOutAndTypePassword(page, member);
  await waitForHydration(page);
  await expect(page.getByRole("heading", { name: "Two-factor sign-in" })).toBeVisible();
  await expectAccessible(page, "the second-factor prompt");
  if (process.env.TESSERA_SCREENSHOT_DIR) {
    await page.screenshot({ path: `${process.env.TESSERA_SCREENSHOT_DIR}/two-factor-sign-in.png`, fullPage: true });
  }
  const next = totp.generate({ timestamp: Date.now() + 30_000 });
  await page.getByLabel("Code").fill(next === "000000" ? "111111" : "000000");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.locator("#code-error")).toContainText("That code is not right");
  await page.getByLabel("Code").fill(next);
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/tokens$/);

  // Without the app: a recovery code, once.
  await signOutAndTypePassword(page, member);
  await page.getByLabel("Code").fill(recovery[0]);
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(/\/tokens$/);

  // Removing the app asks for the password; afterwards the password alone signs in.
  await page.goto("/account");
  await waitForHydration(page);
  await expect(card).toContainText("9 of 10 recovery codes left");
  await card.getByRole("button", { name: "Remove authenticator app" }).click();
  await card.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await card.getByRole("button", { name: "Remove authenticator app" }).click();
  await expect(page.getByRole("status").getByText("The authenticator app is removed.")).toBeVisible();
  await expect(card).toContainText("Signing in asks for your password only");
  await page.getByRole("button", { name: "Sign out" }).click();
  await signIn(page, member, PASSWORD);
});
