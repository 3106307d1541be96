// Journey (issue 14): an administrator adds a webhook endpoint (an http:// URL is refused with the reason), sees
// its signing secret once, sends a test event and finds its delivery in the endpoint's log, then removes it.
import { allowConsoleError, expect, expectAccessible, newAccount, PASSWORD, signIn, test, waitForHydration } from "./helpers";

test("an administrator adds a webhook endpoint, sends a test event, reads its delivery log and removes it", async ({ page }) => {
  allowConsoleError(/status of 422/, "an http:// URL is refused on purpose, to show the field's error");
  const admin = newAccount("hooks");
  await signIn(page, admin, PASSWORD);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Webhooks" }).click();
  await expect(page).toHaveURL(/\/webhooks$/);
  await waitForHydration(page);

  const form = page.locator("form", { has: page.getByRole("heading", { name: "Add an endpoint" }) });
  await form.getByLabel("URL").fill("http://hooks.example.com/tessera");
  await form.getByRole("checkbox", { name: /token\.leaked/ }).check();
  await form.getByRole("button", { name: "Add endpoint" }).click();
  await expect(page.locator("#webhook-url-error")).toContainText("Use an https:// URL");

  // Nothing listens on port 9: deliveries fail, and the log says why.
  const url = `https://127.0.0.1:9/tessera-${Date.now()}`;
  await form.getByLabel("URL").fill(url);
  await form.getByRole("button", { name: "Add endpoint" }).click();
  const secret = page.locator("#webhook-secret");
  await expect(secret).toHaveValue(/^whsec_[A-Za-z0-9+/=]{40,}$/);
  await page.getByRole("button", { name: "I have saved it" }).click();
  await expect(secret).toHaveCount(0);

  const hook = page.locator(`[data-webhook="${url}"]`);
  await expect(hook).toContainText("token.leaked");
  await expect(hook).toContainText("Nothing sent yet.");
  await hook.getByRole("button", { name: "Send test event" }).click();
  await expect(page.getByRole("status").getByText("Test event queued")).toBeVisible();
  const row = hook.locator("tbody tr", { hasText: "webhook.test" });
  await expect(async () => {
    await page.getByRole("button", { name: "Refresh" }).click();
    await expect(row).toContainText("could not connect", { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await expect(row).toContainText("pending");
  await expectAccessible(page, "webhooks page");
  if (process.env.TESSERA_SCREENSHOT_DIR) {
    await page.screenshot({ path: `${process.env.TESSERA_SCREENSHOT_DIR}/webhooks.png`, fullPage: true });
  }

  await hook.getByRole("button", { name: "Remove…" }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toContainText(`Remove the endpoint ${url}?`);
  await dialog.getByRole("button", { name: "Remove" }).click();
  await expect(page.getByRole("status").getByText("Removed the endpoint.")).toBeVisible();
  await expect(hook).toHaveCount(0);
});
