// Journeys: single sign-on through an OpenID Connect provider (issue 19). The provider is real: `oidc-provider`
// (a certified implementation from the npm registry) started by the journey on a loopback port
// (`end2end/oidc_provider.mjs`), with its development sign-in pages. Each Tessera server here is the journey's own
// (single sign-on is a server setting), started and stopped by its PID, as is the provider.
//
// One journey per flow: a person signs in; an ID token issued to another application is refused (wrong
// audience); a replayed return from the provider signs nobody in (replayed state); a person the provider
// confirms but who has no account here is refused (account not allowed); and, with account creation on and
// passwords off, a first sign-in creates the account with the privileges its groups map to while only the
// break-glass account may still use a password.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { allowConsoleError, expect, expectAccessible, freePort, OWN_ADMIN_PASSWORD, PASSWORD, signInAt, startOwnServer, test, waitForHydration } from "./helpers";

type Provider = { issuer: string; setWrongAudience: (on: boolean) => Promise<void>; stop: () => void };

/** Starts the provider on `port`, sending people back to `redirectUris`, with `groups` as the `groups` claim. */
async function startProvider(port: number, redirectUris: string[], groups: Record<string, string[]> = {}): Promise<Provider> {
  const issuer = `http://127.0.0.1:${port}`;
  const provider = spawn(process.execPath, [join(__dirname, "..", "oidc_provider.mjs")], {
    env: {
      ...process.env,
      OIDC_PORT: String(port),
      OIDC_REDIRECT_URIS: JSON.stringify(redirectUris),
      OIDC_GROUPS: JSON.stringify(groups),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  provider.stderr?.on("data", (chunk: Buffer) => (log += chunk.toString()));
  const stop = () => provider.kill();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the provider did not start: ${log}`)), 20_000);
      provider.stdout?.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("provider listening")) {
          clearTimeout(timer);
          resolve();
        }
      });
      provider.once("exit", () => reject(new Error(`the provider stopped: ${log}`)));
    });
  } catch (err) {
    stop();
    throw err;
  }
  const setWrongAudience = async (on: boolean) => {
    const answer = await fetch(`${issuer}/__journey/mode?wrong_audience=${on ? 1 : 0}`);
    expect(answer.ok).toBe(true);
  };
  return { issuer, setWrongAudience, stop };
}

/** A file holding the client secret the provider knows Tessera by. */
function clientSecretFile(): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "tessera-oidc-"));
  const path = join(dir, "client-secret");
  writeFileSync(path, "journey-client-secret\n");
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The `--oidc-*` flags for `provider`. */
function oidcFlags(provider: Provider, secretPath: string, extra: string[] = []): string[] {
  return ["--oidc-issuer", provider.issuer, "--oidc-client-id", "tessera", "--oidc-client-secret-file", secretPath, "--oidc-name", "Journey ID", ...extra];
}

/**
 * The provider's development pages ask for a web font from the internet and the browser for the provider's
 * favicon (it has none): neither is Tessera's nor reachable here, so both get an empty answer instead of
 * console errors that would hide real ones.
 */
async function quietProviderPages(page: Page, provider: Provider) {
  await page.route(/fonts\.googleapis\.com/, (route) => route.fulfill({ status: 200, contentType: "text/css", body: "" }));
  await page.route(`${provider.issuer}/favicon.ico`, (route) => route.fulfill({ status: 204 }));
}

/** Clicks "Sign in with Journey ID" on Tessera's sign-in page and signs in at the provider as `login`. */
async function signInThroughProvider(page: Page, base: string, login: string) {
  await page.goto(`${base}/login`);
  await waitForHydration(page);
  await page.getByRole("link", { name: "Sign in with Journey ID" }).click();
  // The provider's own pages: any login, any password (its development sign-in), then its consent.
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("anything");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
}

function cli(databaseUrl: string, args: string[], input?: string): string {
  return execFileSync(process.env.TESSERA_BIN ?? "", args, {
    input,
    encoding: "utf8",
    env: { ...process.env, DATABASE_URL: databaseUrl, RUST_LOG: "warn" },
  });
}

test.describe("single sign-on", () => {
  let provider: Provider;
  let tessera: { base: string; databaseUrl: string; stop: () => void };
  let secret: { path: string; remove: () => void };

  test.beforeAll(async () => {
    const [providerPort, tesseraPort] = [await freePort(), await freePort()];
    const base = `http://127.0.0.1:${tesseraPort}`;
    secret = clientSecretFile();
    provider = await startProvider(providerPort, [`${base}/auth/oidc/callback`]);
    tessera = await startOwnServer(oidcFlags(provider, secret.path), tesseraPort);
    cli(tessera.databaseUrl, ["account", "create", "alice", "--privileges", "manage-api-tokens", "--password-stdin"], PASSWORD);
  });

  test.beforeEach(async ({ page }) => {
    await quietProviderPages(page, provider);
  });

  test.afterAll(() => {
    tessera?.stop();
    provider?.stop();
    secret?.remove();
  });

  test("a person signs in through the identity provider", async ({ page }) => {
    await signInThroughProvider(page, tessera.base, "alice");
    await expect(page).toHaveURL(/\/tokens$/);
    await waitForHydration(page);
    await expect(page.getByTestId("account-name")).toHaveText("alice");
    await expect(page.getByRole("heading", { name: "API Tokens", exact: true })).toBeVisible();
    const audit = cli(tessera.databaseUrl, ["audit", "--action", "login", "--actor", "alice", "--json"]);
    expect(JSON.parse(audit)[0]).toMatchObject({ action: "login", target: "single sign-on", outcome: "success" });
  });

  test("a person signed in through the provider confirms it is them there before a dangerous privilege", async ({ page }) => {
    allowConsoleError(/status of 403/, "the stale session is refused on purpose, to show the prompt");
    await signInThroughProvider(page, tessera.base, "alice");
    await expect(page).toHaveURL(/\/tokens$/);
    // As if the sign-in were long ago.
    const file = tessera.databaseUrl.replace(/^sqlite:\/\//, "");
    execFileSync("python3", ["-c", "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute('UPDATE sessions SET confirmed_at = NULL'); db.commit()", file]);

    const createWithDangerousPrivilege = async () => {
      await page.goto(`${tessera.base}/tokens/new`);
      await waitForHydration(page);
      await page.getByRole("textbox", { name: "Name" }).fill("deploy-bot");
      await page.locator("#privilege-manage-api-tokens").check();
      await page.getByRole("button", { name: "Create", exact: true }).click();
    };
    await createWithDangerousPrivilege();
    const confirm = page.getByRole("form", { name: "Confirm it is you" });
    const atTheProvider = async (login: string) => {
      await confirm.getByRole("link", { name: "Confirm with Journey ID instead" }).click();
      await page.locator('input[name="login"]').fill(login);
    };
    // Someone else at the provider confirms nothing: alice stays signed in, unconfirmed, and is told why.
    await atTheProvider("mallory");
    await page.locator('input[name="password"]').fill("anything");
    await page.getByRole("button", { name: "Sign-in" }).click();
    await page.waitForURL(/\/login\?sso=wrong-person$|\/interaction\//);
    if (page.url().includes("/interaction/")) await page.getByRole("button", { name: "Continue" }).click();
    await expect(page).toHaveURL(/\/login\?sso=wrong-person$/);
    await expect(page.getByRole("alert").first()).toHaveText("Your identity provider confirmed someone else. Sign in again as yourself.");
    await page.getByRole("link", { name: "Back to your tokens" }).click();
    await expect(page.getByTestId("account-name")).toHaveText("alice");
    await createWithDangerousPrivilege();

    // The provider asks for the credentials again (prompt=login), whatever session it holds.
    await atTheProvider("alice");
    await page.locator('input[name="password"]').fill("anything");
    await page.getByRole("button", { name: "Sign-in" }).click();
    await page.waitForURL(/\/tokens\/new$|\/interaction\//);
    if (page.url().includes("/interaction/")) await page.getByRole("button", { name: "Continue" }).click();
    await expect(page).toHaveURL(/\/tokens\/new$/);

    // Back on the page, the same act goes through without asking.
    await createWithDangerousPrivilege();
    await expect(page.getByRole("heading", { name: "Your new API token" })).toBeVisible();
    await expect(confirm).toHaveCount(0);
    const audit = cli(tessera.databaseUrl, ["audit", "--action", "session.confirm", "--actor", "alice", "--json"]);
    expect(JSON.parse(audit)[0]).toMatchObject({ target: "single sign-on", outcome: "success" });
  });

  test("an ID token issued to another application signs nobody in (wrong audience)", async ({ page }) => {
    allowConsoleError(/status of 401/, "the tokens page is asked for without a session, to show nobody is signed in");
    await provider.setWrongAudience(true);
    try {
      await signInThroughProvider(page, tessera.base, "alice");
    } finally {
      await provider.setWrongAudience(false);
    }
    await expect(page).toHaveURL(/\/login\?sso=not-confirmed$/);
    await expect(page.getByRole("alert").first()).toHaveText("Your identity provider did not confirm the sign-in.");
    await page.goto(`${tessera.base}/tokens`);
    await expect(page).toHaveURL(/\/login$/);
  });

  test("a replayed return from the provider signs nobody in (replayed state)", async ({ page }) => {
    allowConsoleError(/status of 401/, "the tokens page is asked for without a session, to show nobody is signed in");
    let callback = "";
    page.on("request", (request) => {
      if (request.url().includes("/auth/oidc/callback")) callback = request.url();
    });
    await signInThroughProvider(page, tessera.base, "alice");
    await expect(page).toHaveURL(/\/tokens$/);
    expect(callback).toContain("state=");
    await waitForHydration(page);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);

    // The same return again (its code and state), as an attacker who saw the URL would send it.
    await page.goto(callback);
    await expect(page).toHaveURL(/\/login\?sso=expired$/);
    await expect(page.getByRole("alert").first()).toHaveText("This sign-in was already used or took too long. Please start again.");
    await page.goto(`${tessera.base}/tokens`);
    await expect(page).toHaveURL(/\/login$/);
  });

  test("a person the provider confirms but who has no account here is refused (account not allowed)", async ({ page }) => {
    await signInThroughProvider(page, tessera.base, "mallory");
    await expect(page).toHaveURL(/\/login\?sso=not-allowed$/);
    await expect(page.getByRole("alert").first()).toHaveText(
      "Your identity provider confirmed who you are, but you have no account here. Ask an administrator for one.",
    );
    // Nothing was created for them.
    expect(cli(tessera.databaseUrl, ["account", "list"])).not.toContain("mallory");
  });
});

test("with account creation on and passwords off, a first sign-in creates the account from its groups", async ({ page }) => {
  allowConsoleError(/status of 401/, "a password sign-in of an account other than the break-glass one is refused on purpose");
  const [providerPort, tesseraPort] = [await freePort(), await freePort()];
  const base = `http://127.0.0.1:${tesseraPort}`;
  const secret = clientSecretFile();
  const mapDir = mkdtempSync(join(tmpdir(), "tessera-oidc-map-"));
  const map = join(mapDir, "privileges.json");
  writeFileSync(map, JSON.stringify({ claim: "groups", privileges: { developers: ["manage-api-tokens"], auditors: ["list-accts"] } }));
  const provider = await startProvider(providerPort, [`${base}/auth/oidc/callback`], { carol: ["developers", "auditors", "other"] });
  const flags = oidcFlags(provider, secret.path, [
    "--oidc-create-accounts",
    "--oidc-privilege-map",
    map,
    "--disable-password-sign-in",
    "--break-glass-account",
    "admin",
  ]);
  const tessera = await startOwnServer(flags, tesseraPort);
  try {
    await quietProviderPages(page, provider);
    cli(tessera.databaseUrl, ["account", "create", "dave", "--privileges", "manage-api-tokens", "--password-stdin"], PASSWORD);

    // Passwords are for the break-glass account only: the page says so, and dave's right password is refused.
    await page.goto(`${base}/login`);
    await waitForHydration(page);
    await expect(page.getByText("Passwords are for the emergency account only")).toBeVisible();
    await expectAccessible(page, "the sign-in page with single sign-on");
    if (process.env.TESSERA_SCREENSHOT_DIR) {
      await page.screenshot({ path: `${process.env.TESSERA_SCREENSHOT_DIR}/single-sign-on.png` });
    }
    await page.getByLabel("Username").fill("dave");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.locator("#login-error")).toContainText("Passwords here are for the emergency account only");

    // Carol has no account yet: her first sign-in creates it with what her groups map to.
    await signInThroughProvider(page, base, "carol");
    await expect(page).toHaveURL(/\/tokens$/);
    await waitForHydration(page);
    await expect(page.getByTestId("account-name")).toHaveText("carol");
    const accounts = JSON.parse(cli(tessera.databaseUrl, ["account", "list", "--json"])) as { name: string; privileges: string[] }[];
    expect(accounts.find((a) => a.name === "carol")?.privileges.sort()).toEqual(["list-accts", "manage-api-tokens"]);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);

    // The break-glass account still signs in with its password.
    await signInAt(page, base, "admin", OWN_ADMIN_PASSWORD);
    await expect(page.getByTestId("account-name")).toHaveText("admin");
  } finally {
    tessera.stop();
    provider.stop();
    secret.remove();
    rmSync(mapDir, { recursive: true, force: true });
  }
});
