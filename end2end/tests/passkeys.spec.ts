// Journey: a person adds a passkey (named) on the Account page, signs in with the password and then the passkey
// instead of a code, and removes it with the password (issue 19). The authenticator is Chromium's own virtual
// one, driven through the DevTools protocol's WebAuthn domain (a Playwright CDP session): a real WebAuthn
// ceremony in a real browser, with a platform authenticator that verifies its user.
//
// WebAuthn needs a host name (an IP address is no relying party), so this journey reaches the suite's server as
// `localhost` instead of 127.0.0.1: the same server, its own cookies.
import { execFileSync } from "node:child_process";
import type { BrowserContext, Page } from "@playwright/test";
import {
  allowConsoleError,
  expect,
  expectAccessible,
  newAccount,
  OWN_ADMIN_PASSWORD,
  PASSWORD,
  startOwnServer,
  test,
  waitForHydration,
} from "./helpers";

const base = (process.env.TESSERA_BASE_URL ?? "").replace("127.0.0.1", "localhost");

/** Chromium's virtual platform authenticator (it verifies its user at once), for this page. */
async function virtualAuthenticator(context: BrowserContext, page: Page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

/** Adds a passkey called `name` on the Account page of the server at `at`, and puts its recovery codes away. */
async function addPasskey(page: Page, at: string, name: string) {
  await page.goto(`${at}/account`);
  await waitForHydration(page);
  const card = page.getByRole("region", { name: "Two-factor authentication" });
  await card.getByLabel("Name of the new passkey").fill(name);
  await card.getByRole("button", { name: "Add a passkey" }).click();
  await expect(card.getByTestId("recovery-codes").locator("li")).toHaveCount(10);
  await card.getByRole("button", { name: "I have saved my recovery codes" }).click();
  return card;
}

test("a person adds a passkey, signs in with it instead of a code, and removes it", async ({ page, context }) => {
  allowConsoleError(/status of 409/, "a second passkey with the same name is refused on purpose (409), to show the message");
  const member = newAccount("passkey");
  const { cdp, authenticatorId } = await virtualAuthenticator(context, page);

  const signInWithPassword = async () => {
    await page.goto(`${base}/login`);
    await waitForHydration(page);
    await page.getByLabel("Username").fill(member);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
  };
  await signInWithPassword();
  await expect(page).toHaveURL(/\/tokens$/);

  // Add one: the first second factor brings the ten recovery codes, shown once.
  const card = await addPasskey(page, base, "Journey laptop");
  await expect(card.getByRole("list", { name: "Your passkeys" })).toContainText("Journey laptop");
  await expect(card).toContainText("Signing in asks for one of your passkeys. 10 of 10 recovery codes left.");
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  expect(credentials).toHaveLength(1);
  // Names are the person's way to tell keys apart: one name, one key.
  await card.getByLabel("Name of the new passkey").fill("journey LAPTOP");
  await card.getByRole("button", { name: "Add a passkey" }).click();
  await expect(card.locator("#passkey-error")).toHaveText("You already have a passkey named “journey LAPTOP”.");
  await card.getByLabel("Name of the new passkey").fill("");
  await expectAccessible(page, "the passkeys on the account page");
  if (process.env.TESSERA_SCREENSHOT_DIR) {
    await card.screenshot({ path: `${process.env.TESSERA_SCREENSHOT_DIR}/passkeys.png` });
  }

  // Signing in now asks for the second factor, and the passkey answers it.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await signInWithPassword();
  await expect(page).toHaveURL(/\/login\/code$/);
  await waitForHydration(page);
  await expect(page.getByText("Use one of your passkeys. Lost it?")).toBeVisible();
  await expectAccessible(page, "the second step with a passkey");
  await page.getByRole("button", { name: "Use a passkey" }).click();
  await expect(page).toHaveURL(/\/tokens$/);
  await expect(page.getByTestId("account-name")).toHaveText(member);
  const { credentials: used } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  expect(used[0].signCount).toBeGreaterThan(0);

  // Remove it (the password is asked again): the password alone signs in again.
  await page.goto(`${base}/account`);
  await waitForHydration(page);
  await card.getByRole("button", { name: "Remove passkey Journey laptop" }).click();
  await card.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await card.getByRole("button", { name: "Remove passkey", exact: true }).click();
  await expect(card).toContainText("Signing in asks for your password only.");
  await expect(card.getByRole("list", { name: "Your passkeys" }).locator("li")).toHaveCount(0);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await signInWithPassword();
  await expect(page).toHaveURL(/\/tokens$/);
  await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId });
});

test("a passkey confirms it is you before a dangerous privilege", async ({ page, context }) => {
  allowConsoleError(/status of 403/, "the stale session is refused on purpose, to show the prompt");
  // "A while after signing in" is made by clearing the session's confirmation in the database: a server of its own.
  const own = await startOwnServer();
  try {
    const at = own.base.replace("127.0.0.1", "localhost");
    await virtualAuthenticator(context, page);
    await page.goto(`${at}/login`);
    await waitForHydration(page);
    await page.getByLabel("Username").fill("admin");
    await page.getByLabel("Password").fill(OWN_ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/tokens$/);
    await addPasskey(page, at, "Desk key");
    const file = own.databaseUrl.replace(/^sqlite:\/\//, "");
    execFileSync("python3", ["-c", "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute('UPDATE sessions SET confirmed_at = NULL'); db.commit()", file]);

    await page.goto(`${at}/tokens/new`);
    await waitForHydration(page);
    await page.getByRole("textbox", { name: "Name" }).fill("deploy-bot");
    await page.getByRole("button", { name: "Create", exact: true }).click();
    const confirm = page.getByRole("form", { name: "Confirm it is you" });
    await confirm.getByRole("button", { name: "Use a passkey instead" }).click();
    await expect(page.getByRole("heading", { name: "Your new API token" })).toBeVisible();
    await expect(confirm).toHaveCount(0);
  } finally {
    own.stop();
  }
});
