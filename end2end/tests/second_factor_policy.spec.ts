// Journey: an administrator requires two-factor authentication for every account; from then on an account
// without a second factor sees nothing but its set-up until it is done, and then the whole app (issue 19).
// The policy covers every account of a server, so this journey runs on a server of its own (its own database),
// started and stopped here by its PID, and leaves the shared one alone.
import { execFileSync } from "node:child_process";
import * as OTPAuth from "otpauth";
import { allowConsoleError, expect, expectAccessible, OWN_ADMIN_PASSWORD, PASSWORD, signInAt, startOwnServer, test, waitForHydration } from "./helpers";

test("an administrator requires a second factor and an account without one must set it up first", async ({ page }) => {
  allowConsoleError(/status of 422/, "a policy without its privileges is refused on purpose, to show the message");
  const { base, databaseUrl, stop } = await startOwnServer();
  try {
    execFileSync(process.env.TESSERA_BIN ?? "", ["account", "create", "member", "--privileges", "manage-api-tokens", "--password-stdin"], {
      input: PASSWORD,
      env: { ...process.env, DATABASE_URL: databaseUrl, RUST_LOG: "warn" },
    });

    await signInAt(page, base, "admin", OWN_ADMIN_PASSWORD);
    await page.goto(`${base}/privileges`);
    await waitForHydration(page);
    const policy = page.getByRole("form", { name: "Require two-factor authentication" });
    await expect(policy.getByLabel("Nobody: each person decides")).toBeChecked();
    await policy.getByLabel("Accounts holding any of these privileges:").check();
    await expectAccessible(page, "the second-factor policy");
    if (process.env.TESSERA_SCREENSHOT_DIR) {
      await policy.screenshot({ path: `${process.env.TESSERA_SCREENSHOT_DIR}/two-factor-policy.png` });
    }
    await policy.getByRole("button", { name: "Save policy" }).click();
    await expect(policy.locator("#policy-error")).toContainText("Choose at least one privilege");
    await policy.getByLabel("Every account").check();
    await policy.getByRole("button", { name: "Save policy" }).click();
    // The administrator has no second factor either: the app now shows only its set-up.
    await expect(page.getByRole("heading", { name: "Set up two-factor authentication" })).toBeVisible();
    await expect(page.getByRole("navigation", { name: "Main" })).toHaveCount(0);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);

    // The member signs in with the password and, whatever page, sees only the set-up.
    await signInAt(page, base, "member", PASSWORD);
    await expect(page.getByRole("heading", { name: "Set up two-factor authentication" })).toBeVisible();
    await expect(page.getByRole("note")).toContainText("Your administrator requires a second factor for your account.");
    if (process.env.TESSERA_SCREENSHOT_DIR) {
      await page.screenshot({ path: `${process.env.TESSERA_SCREENSHOT_DIR}/two-factor-required.png` });
    }
    await page.goto(`${base}/tokens/new`);
    await waitForHydration(page);
    await expect(page.getByRole("heading", { name: "Set up two-factor authentication" })).toBeVisible();

    const card = page.getByRole("region", { name: "Two-factor authentication" });
    await card.getByRole("button", { name: "Set up an authenticator app" }).click();
    const secret = (await card.getByTestId("totp-secret").textContent())?.trim() ?? "";
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: "SHA1" });
    await card.getByLabel("Code from the app").fill(totp.generate());
    await card.getByRole("button", { name: "Turn on" }).click();
    await expect(card.getByTestId("recovery-codes").locator("li")).toHaveCount(10);
    await card.getByRole("button", { name: "I have saved my recovery codes" }).click();

    // Done: the whole app.
    await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API Tokens" }).click();
    await expect(page).toHaveURL(/\/tokens$/);
    await expect(page.getByRole("heading", { name: "API Tokens", exact: true })).toBeVisible();
  } finally {
    stop();
  }
});
