// Journey: copy a new token's secret; "Copied" shows for two seconds, and copying again restarts them.
// The page's clock is Playwright's, so the two seconds are checked exactly, without waiting for them.
import { type Page } from "@playwright/test";
import { expect, newAccount, PASSWORD, signIn, test } from "./helpers";

test.use({ permissions: ["clipboard-read", "clipboard-write"] });

async function revealNewToken(page: Page, name: string) {
  await page.getByRole("link", { name: "Create", exact: true }).click();
  await page.getByRole("textbox", { name: "Name" }).fill(name);
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Your new API token" })).toBeVisible();
}

test("the secret is shown in a monospace field and Copied lasts two seconds", async ({ page }) => {
  await page.clock.install();
  const account = newAccount("copy");
  await signIn(page, account, PASSWORD);
  await revealNewToken(page, "copy-bot");

  const field = page.getByLabel("Token secret");
  const font = await field.evaluate((el) => getComputedStyle(el).fontFamily);
  expect(font, "a secret is easier to check character by character in a monospace font").toContain("monospace");

  // From here the page's time stands still except when the test moves it.
  await page.clock.pauseAt(new Date(Date.now() + 60_000));
  const button = page.locator(".copy-button");
  await button.click();
  await expect(button).toHaveText("Copied");
  await expect(page.getByRole("status").filter({ hasText: "Copied to the clipboard." })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await field.inputValue());
  await page.clock.runFor(1900);
  await expect(button).toHaveText("Copied");
  await page.clock.runFor(200);
  await expect(button).toHaveText("Copy");

  // A second copy one and a half seconds after the first gets its own full two seconds.
  await button.click();
  await expect(button).toHaveText("Copied");
  await page.clock.runFor(1500);
  // The second copy's timer starts once its clipboard write is done: wait for that before moving time.
  await page.evaluate(() => navigator.clipboard.writeText(""));
  await button.click();
  await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).not.toBe("");
  await page.clock.runFor(1000);
  await expect(button, "the first copy's timer must not cut the second short").toHaveText("Copied");
  await page.clock.runFor(1100);
  await expect(button).toHaveText("Copy");
});

test("where the clipboard refuses, the secret is selected with a hint to press Ctrl+C", async ({ page }) => {
  await page.addInitScript(() => {
    Object.defineProperty(navigator.clipboard, "writeText", {
      value: () => Promise.reject(new DOMException("Write permission denied.", "NotAllowedError")),
    });
  });
  const account = newAccount("nocopy");
  await signIn(page, account, PASSWORD);
  await revealNewToken(page, "nocopy-bot");

  await page.locator(".copy-button").click();
  await expect(page.getByRole("status").filter({ hasText: "press Ctrl+C (⌘C on a Mac) to copy it" })).toBeVisible();
  await expect(page.locator(".copy-button")).toHaveText("Copy");
  const field = page.getByLabel("Token secret");
  await expect(field).toBeFocused();
  const selection = await field.evaluate((el: HTMLInputElement) => [el.selectionStart, el.selectionEnd, el.value.length]);
  expect(selection).toEqual([0, selection[2], selection[2]]);
  expect(selection[2]).toBeGreaterThan(30);
});
