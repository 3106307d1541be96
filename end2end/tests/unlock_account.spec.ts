// Journey: an account is locked after ten failed sign-ins; an administrator sees the lock on its page and
// unlocks it, and the right password works again (issue 11: sign-in throttling).
import { allowConsoleError, expect, newAccount, PASSWORD, signIn, test, waitForHydration } from "./helpers";

test("an administrator unlocks an account locked by failed sign-ins", async ({ page, request }) => {
  allowConsoleError(/status of 403/, "the locked account's own sign-in is refused on purpose, to show the lock");
  const admin = newAccount("unlocker");
  const member = newAccount("locked");
  // Ten wrong passwords, each from its own address (the server trusts loopback as its proxy).
  for (let i = 0; i < 10; i++) {
    const response = await request.post("/rpc/login", {
      form: { username: member, password: "wrong-password" },
      headers: { "x-forwarded-for": `203.0.113.${i + 1}` },
    });
    expect(response.status()).toBe(401);
  }

  // The right password does not open it.
  await page.goto("/login");
  await waitForHydration(page);
  await page.getByLabel("Username").fill(member);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.locator("#login-error")).toContainText("this account is locked for 15 more minute");

  await signIn(page, admin, PASSWORD);
  await page.goto(`/accounts/manage/${member}`);
  await waitForHydration(page);
  const lock = page.getByRole("region", { name: "Sign-in locked" });
  await expect(lock).toContainText("Locked after too many failed sign-ins");
  if (process.env.TESSERA_SCREENSHOT_DIR) {
    await page.screenshot({ path: `${process.env.TESSERA_SCREENSHOT_DIR}/unlock-account.png`, fullPage: true });
  }
  await lock.getByRole("button", { name: "Unlock account" }).click();
  await expect(page.getByRole("status").getByText("Unlocked: the account can sign in again.")).toBeVisible();
  await expect(lock).toHaveCount(0);

  await page.getByRole("button", { name: "Sign out" }).click();
  await signIn(page, member, PASSWORD);
});
