// The README's screenshots, taken from the real app. They are written to docs/screenshots/ when
// TESSERA_SCREENSHOT_DIR is set (`make screenshots`), and into the test's output folder otherwise.
import path from "node:path";
import { createToken, expect, newAccount, PASSWORD, setExpiry, signIn, tessera, test, waitForHydration } from "./helpers";

const target = (name: string, fallback: string) =>
  process.env.TESSERA_SCREENSHOT_DIR ? path.join(process.env.TESSERA_SCREENSHOT_DIR, name) : fallback;

test.use({ viewport: { width: 1280, height: 760 }, colorScheme: "light" });

test("sign-in page and an empty tokens page", async ({ page }, info) => {
  await page.goto("/login");
  await waitForHydration(page);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await page.screenshot({ path: target("login.png", info.outputPath("login.png")) });

  const account = newAccount("empty");
  await signIn(page, account, PASSWORD);
  await expect(page.getByText("No API tokens yet")).toBeVisible();
  await page.screenshot({ path: target("tokens-empty.png", info.outputPath("tokens-empty.png")) });
});

test("the tokens list with expiring and expired tokens", async ({ page }, info) => {
  const account = newAccount("shots");
  createToken(account, "billing-sync", ["--privilege", "list-accts", "--ip", "203.0.113.7", "--ip", "10.20.0.0/16"]);
  createToken(account, "ci-deploy", ["--expires", "never"]);
  createToken(account, "reseller-acme", ["--privilege", "create-acct", "--privilege", "suspend-acct"]);
  createToken(account, "nightly-backup", ["--privilege", "list-accts"]);
  createToken(account, "legacy-import", ["--privilege", "all"]);
  setExpiry(account, "nightly-backup", new Date(Date.now() + 5 * 3600 * 1000 + 60_000));
  setExpiry(account, "legacy-import", new Date(Date.now() - 3 * 86400 * 1000));
  await signIn(page, account, PASSWORD);
  await expect(page.locator("tr.row-soon")).toHaveCount(1);
  await expect(page.locator("tr.row-expired")).toHaveCount(1);
  await page.screenshot({ path: target("tokens.png", info.outputPath("tokens.png")) });

  await page.goto("/tokens/new");
  await waitForHydration(page);
  await page.getByRole("textbox", { name: "Name" }).fill("monitoring-probe");
  await page.getByRole("textbox", { name: "IP allowlist" }).fill("203.0.113.0/24");
  await page.getByRole("button", { name: "Choose date" }).click();
  await expect(page.getByRole("dialog")).toBeVisible();
  await page.screenshot({ path: target("create.png", info.outputPath("create.png")), fullPage: true });

  await page.keyboard.press("Enter");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await expect(page.getByLabel("Token secret")).toBeVisible();
  await page.screenshot({ path: target("reveal.png", info.outputPath("reveal.png")) });
  await page.getByRole("button", { name: "Yes, I saved my token" }).click();

  await page.getByRole("link", { name: "billing-sync" }).click();
  await expect(page.getByRole("heading", { name: "Manage “billing-sync”" })).toBeVisible();
  await page.screenshot({ path: target("manage.png", info.outputPath("manage.png")), fullPage: true });
});

test("the accounts and audit screens", async ({ page }, info) => {
  const admin = newAccount("shots-admin");
  // Letters no other test's names hold: the page is searched by it (a number once matched another test's account).
  const suffix = `q${Math.random().toString(36).slice(2, 7).replace(/[0-9]/g, "x")}`;
  for (const [name, privileges] of [
    [`reseller-acme-${suffix}`, "manage-api-tokens,list-accts,create-acct,suspend-acct"],
    [`billing-team-${suffix}`, "manage-api-tokens"],
    [`legacy-panel-${suffix}`, "manage-api-tokens,list-accts"],
  ]) {
    tessera(["account", "create", name, "--privileges", privileges, "--password-stdin"], `${PASSWORD}\n`);
  }
  createToken(`reseller-acme-${suffix}`, "provisioning");
  createToken(`reseller-acme-${suffix}`, "invoices");
  tessera(["account", "suspend", `legacy-panel-${suffix}`]);
  await signIn(page, admin, PASSWORD);
  await page.goto(`/accounts?q=${suffix}`);
  await waitForHydration(page);
  await expect(page.locator("tbody tr")).toHaveCount(3);
  await page.screenshot({ path: target("accounts.png", info.outputPath("accounts.png")) });

  await page.goto(`/audit?q=${suffix}`);
  await waitForHydration(page);
  await expect(page.locator("tbody tr").first()).toBeVisible();
  await page.screenshot({ path: target("audit.png", info.outputPath("audit.png")) });
});
