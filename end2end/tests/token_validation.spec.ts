// Journey: every validation error of the create form shows next to its field, and Create stays disabled.
import { allowConsoleError, createToken, expect, newAccount, PASSWORD, signIn, test, waitForHydration } from "./helpers";

test("each rule shows its error in the right place", async ({ page }) => {
  allowConsoleError(/status of 409/, "it creates a token under a name taken after the live check, to see the server refuse it");
  const account = newAccount("rules");
  createToken(account, "taken");
  await signIn(page, account, PASSWORD);
  await page.goto("/tokens/new");
  await waitForHydration(page);
  const create = page.getByRole("button", { name: "Create", exact: true });
  const name = page.getByRole("textbox", { name: "Name" });
  const nameError = page.locator("#token-name-error");

  await expect(create).toBeDisabled();
  await name.fill("bad name");
  await expect(nameError).toContainText("contains “ ”");
  await expect(name).toHaveAttribute("aria-invalid", "true");
  await name.fill("x".repeat(51));
  await expect(nameError).toContainText("51 characters long; the limit is 50");
  await expect(page.locator("#token-name-count")).toHaveText("51/50");
  await expect(create).toBeDisabled();

  const date = page.getByRole("textbox", { name: "Expiration date" });
  const dateError = page.locator("#token-expires-error");
  await name.fill("fine");
  await date.fill("2026-02-30");
  await expect(dateError).toHaveText("2026-02-30 is not a date on the calendar.");
  await date.fill("2020-01-01");
  await expect(dateError).toHaveText("The expiry date must be today or later.");
  await date.fill("31.12.2030");
  await expect(dateError).toContainText("YYYY-MM-DD");
  await expect(create).toBeDisabled();
  await date.fill("2030-12-31");
  await expect(dateError).toBeEmpty();

  const allowlist = page.getByRole("textbox", { name: "IP allowlist" });
  const allowlistError = page.locator("#token-allowlist-error");
  await expect(allowlistError).toHaveText("Any address");
  await allowlist.fill("192.0.2.1\n999.1.1.1\n10.0.0.0/33");
  await expect(allowlistError).toContainText("line 2: 999.1.1.1 is not a valid IP address or range.");
  await expect(allowlistError).toContainText("line 3: 10.0.0.0/33 is not a valid range");
  await allowlist.fill("10.0.0.7/24");
  await expect(allowlistError).toContainText("did you mean 10.0.0.0/24?");
  await expect(create).toBeDisabled();
  await allowlist.fill("10.0.0.0/24");

  for (const box of await page.locator(".privilege input[type=checkbox]").all()) {
    await box.uncheck();
  }
  await expect(page.locator("#token-privileges-error")).toHaveText("Choose at least one privilege.");
  await expect(create).toBeDisabled();
  await page.getByRole("checkbox", { name: /List Accounts/ }).check();
  await expect(page.locator("#token-privileges-error")).toBeEmpty();
  await expect(create).toBeEnabled();

  // A name in use (in another case) is reported while typing, before Create is ever clicked.
  await name.fill("TAKEN");
  await expect(nameError).toHaveText("The name “TAKEN” is already in use.");
  await expect(name).toHaveAttribute("aria-invalid", "true");
  await expect(create).toBeDisabled();

  // And the server has the last word: a name taken after the check still lands under the name on Create.
  const checked = page.waitForResponse((r) => r.url().endsWith("/rpc/check_token_name"));
  await name.fill("raced");
  await checked;
  await expect(create).toBeEnabled();
  createToken(account, "raced");
  await create.click();
  await expect(nameError).toHaveText("The name “raced” is already in use.");
  await expect(create).toBeDisabled();
  await name.fill("not-taken");
  await expect(nameError).toBeEmpty();
  await create.click();
  await expect(page.getByRole("heading", { name: "Your new API token" })).toBeVisible();
});
