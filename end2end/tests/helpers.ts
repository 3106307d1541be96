// Shared steps of the browser journeys, and the `test` every journey uses: it fails a journey on any browser
// console error, uncaught page error or Content-Security-Policy violation, in any page of the journey.
import { test as base, expect, type Page } from "@playwright/test";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const admin = {
  username: "admin",
  password: process.env.TESSERA_ADMIN_PASSWORD ?? "",
};

export const PASSWORD = "journey-password";

/** Console errors a journey provokes on purpose, each with the reason, keyed by the running test. */
const allowances = new Map<string, { pattern: RegExp; reason: string }[]>();

/**
 * Lets the running journey's console show errors matching `pattern`, because the journey provokes them on
 * purpose (`reason` says how). Everything else in the console still fails the journey.
 */
export function allowConsoleError(pattern: RegExp, reason: string) {
  const id = test.info().testId;
  allowances.set(id, [...(allowances.get(id) ?? []), { pattern, reason }]);
}

export const test = base.extend<{ consoleGuard: void }>({
  consoleGuard: [
    async ({ context }, use, testInfo) => {
      const problems: string[] = [];
      context.on("console", (message) => {
        if (message.type() === "error") problems.push(`console.error: ${message.text()}`);
      });
      context.on("weberror", (error) => problems.push(`uncaught: ${error.error().message}`));
      // CSP violations are events, not always console lines: report each as a console error.
      await context.addInitScript(() => {
        document.addEventListener("securitypolicyviolation", (event) => {
          console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
        });
      });
      await use();
      const allowed = allowances.get(testInfo.testId) ?? [];
      allowances.delete(testInfo.testId);
      const unexpected = problems.filter((problem) => !allowed.some(({ pattern }) => pattern.test(problem)));
      expect(unexpected, "the browser console stays clean (no error, panic or CSP report)").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** Waits until the WASM app has hydrated (the app marks <html> when it starts). */
export async function waitForHydration(page: Page) {
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
}

/** Signs in through the login form and waits for the tokens page. */
export async function signIn(page: Page, username = admin.username, password = admin.password) {
  await signInAt(page, "", username, password);
}

/** [`signIn`] on the server at `base` (empty: the suite's server). */
export async function signInAt(page: Page, base: string, username: string, password: string) {
  await page.goto(`${base}/login`);
  await waitForHydration(page);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/tokens$/);
  await waitForHydration(page);
}

/** Runs the tessera CLI against the test server's database. */
export function tessera(args: string[], input?: string): string {
  const bin = process.env.TESSERA_BIN;
  if (!bin) throw new Error("TESSERA_BIN is not set");
  return execFileSync(bin, args, { input, encoding: "utf8", env: process.env });
}

let counter = 0;
/** A fresh account (all privileges) for one journey, so journeys do not see each other's tokens. */
export function newAccount(prefix: string): string {
  counter += 1;
  const name = `${prefix}-${process.pid}-${Date.now() % 100000}-${counter}`.slice(0, 50);
  tessera(["account", "create", name, "--privileges", "all", "--password-stdin"], `${PASSWORD}\n`);
  return name;
}

/** Creates a token from the command line; returns its secret. */
export function createToken(account: string, name: string, extra: string[] = []): string {
  const privileges = extra.some((a) => a === "--privilege") ? [] : ["--privilege", "manage-api-tokens"];
  return tessera(["token", "create", "--account", account, "--name", name, ...privileges, ...extra]).trim();
}

/** Signs a fresh account with sixty tokens in and waits for the first page of its list. */
export async function openSixtyTokenList(page: Page, prefix: string) {
  const account = newAccount(prefix);
  createSixtyTokens(account);
  await signIn(page, account, PASSWORD);
  const range = page.locator(".range");
  const rows = page.locator("tbody tr");
  await expect(range).toHaveText("1–20 of 60");
  await expect(rows).toHaveCount(20);
  return { range, rows };
}

/** The long list of the list journeys: deploy-00, deploy-03, … (20 of them) and worker_01, worker_02, … (40). */
function createSixtyTokens(account: string) {
  for (let i = 0; i < 60; i++) {
    const name = i % 3 === 0 ? `deploy-${String(i).padStart(2, "0")}` : `worker_${String(i).padStart(2, "0")}`;
    tessera(["token", "create", "--account", account, "--name", name, "--privilege", "list-accts"]);
  }
}

/** Sets a token's expiry directly in the store (the rules forbid past expiries, but time passes). */
export function setExpiry(account: string, token: string, at: Date) {
  const url = process.env.DATABASE_URL ?? "";
  const path = url.replace(/^sqlite:\/\//, "");
  const iso = at.toISOString().replace("Z", "+00:00");
  const script = [
    "import sqlite3, sys",
    "db = sqlite3.connect(sys.argv[1])",
    "db.execute('PRAGMA busy_timeout = 5000')",
    "n = db.execute('UPDATE tokens SET expires_at = ? WHERE name = ? AND account_id = (SELECT id FROM accounts WHERE username = ?)', (sys.argv[2], sys.argv[3], sys.argv[4])).rowcount",
    "db.commit()",
    "assert n == 1, n",
  ].join("\n");
  execFileSync("python3", ["-c", script, path, iso, token, account]);
}

/** Today in the server's calendar, as the create form reports it (YYYY-MM-DD). */
export function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Runs axe-core on the page; fails on serious or critical violations. */
export async function expectAccessible(page: Page, label: string) {
  const axe = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  // Evaluated by the test driver, not added as an inline <script>: the page's CSP rightly refuses those.
  await page.evaluate(axe);
  const violations = await page.evaluate(async () => {
    // @ts-expect-error axe is injected above
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v: { impact: string }) => v.impact === "serious" || v.impact === "critical")
      .map((v: { id: string; help: string; nodes: { target: string[] }[] }) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
  });
  expect(violations, `${label}: accessibility violations`).toEqual([]);
}

/** The admin password of a server a journey starts for itself ([`startOwnServer`]). */
export const OWN_ADMIN_PASSWORD = "own-server-admin-password";

/** A loopback port nobody listens on (yet). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Starts a tessera server of the journey's own, on its own SQLite database and a free loopback port, for journeys
 * that change what the whole server does (a policy, a setting); `stop` kills it (its PID) and removes the database.
 * `port`: listen there (a journey that must name the server's address before it starts), else on any free one.
 */
export async function startOwnServer(
  extra: string[] = [],
  port?: number,
): Promise<{ base: string; databaseUrl: string; stop: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), "tessera-own-"));
  const databaseUrl = `sqlite://${dir}/own.db`;
  port ??= await freePort();
  const server = spawn(process.env.TESSERA_BIN ?? "", ["serve", "--addr", `127.0.0.1:${port}`, ...extra], {
    env: { ...process.env, DATABASE_URL: databaseUrl, TESSERA_ADMIN_PASSWORD: OWN_ADMIN_PASSWORD, RUST_LOG: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stop = () => {
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("tessera did not start")), 20_000);
      server.stdout?.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("Tessera is listening on")) {
          clearTimeout(timer);
          resolve();
        }
      });
      server.once("exit", () => reject(new Error("tessera stopped")));
    });
  } catch (err) {
    stop();
    throw err;
  }
  return { base: `http://127.0.0.1:${port}`, databaseUrl, stop };
}
