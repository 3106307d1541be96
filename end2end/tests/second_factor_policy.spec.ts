// Journey: an administrator requires two-factor authentication for every account; from then on an account
// without a second factor sees nothing but its set-up until it is done, and then the whole app (issue 19).
// The policy covers every account of a server, so this journey runs on a server of its own (its own database),
// started and stopped here by its PID, and leaves the shared one alone.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as OTPAuth from "otpauth";
import { allowConsoleError, expect, PASSWORD, test, waitForHydration } from "./helpers";
import type { Page } from "@playwright/test";

const ADMIN_PASSWORD = "policy-admin-password";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function startServer(databaseUrl: string): Promise<{ base: string; server: ChildProcess }> {
  const port = await freePort();
  const server = spawn(process.env.TESSERA_BIN ?? "", ["serve", "--addr", `127.0.0.1:${port}`], {
    env: { ...process.env, DATABASE_URL: databaseUrl, TESSERA_ADMIN_PASSWORD: ADMIN_PASSWORD, RUST_LOG: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
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
  return { base: `http://127.0.0.1:${port}`, server };
}

async function signInAt(page: Page, base: string, username: string, password: string) {
  await page.goto(`${base}/login`);
  await waitForHydration(page);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/tokens$/);
  await waitForHydration(page);
}

test("an administrator requires a second factor and an account without one must set it up first", async ({ page }) => {
  allowConsoleError(/status of 422/, "a policy without its privileges is refused on purpose, to show the message");
  const dir = mkdtempSync(join(tmpdir(), "tessera-policy-"));
  const databaseUrl = `sqlite://${dir}/policy.db`;
  const { base, server } = await startServer(databaseUrl);
  try {
    execFileSync(process.env.TESSERA_BIN ?? "", ["account", "create", "member", "--privileges", "manage-api-tokens", "--password-stdin"], {
      input: PASSWORD,
      env: { ...process.env, DATABASE_URL: databaseUrl, RUST_LOG: "warn" },
    });

    await signInAt(page, base, "admin", ADMIN_PASSWORD);
    await page.goto(`${base}/privileges`);
    await waitForHydration(page);
    const policy = page.getByRole("form", { name: "Require two-factor authentication" });
    await expect(policy.getByLabel("Nobody: each person decides")).toBeChecked();
    await policy.getByLabel("Accounts holding any of these privileges:").check();
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
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
