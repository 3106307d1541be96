// Journey (issue 15): after traffic made by the test, the tokens table counts a token's requests, its Manage page
// charts the last 30 days (with the numbers as a table) and lists the addresses it was used from; a rate limit
// set there refuses what goes over it with 429.
import { createToken, expect, expectAccessible, newAccount, PASSWORD, signIn, test, waitForHydration } from "./helpers";

test("a token's usage shows on the tokens table and its Manage page, and a rate limit set there holds", async ({ page, request }) => {
  const account = newAccount("usage");
  const secret = createToken(account, "busy-bot", ["--privilege", "list-accts", "--expires", "never"]);
  const call = (ip: string, privilege = "") =>
    request.get(`/api/v1/auth${privilege ? `?privilege=${privilege}` : ""}`, {
      headers: { authorization: `Bearer ${secret}`, "x-forwarded-for": ip },
    });
  for (let i = 0; i < 3; i++) expect((await call("198.51.100.23")).status()).toBe(200);
  expect((await call("203.0.113.40")).status()).toBe(200);
  expect((await call("198.51.100.23", "kill-acct")).status()).toBe(403);

  await signIn(page, account, PASSWORD);
  const row = page.locator("tbody tr", { hasText: "busy-bot" });
  await expect(row.getByTestId("requests-30d")).toHaveText("5");

  await row.getByRole("link", { name: "Manage" }).click();
  await expect(page).toHaveURL(/\/tokens\/manage\/busy-bot$/);
  await waitForHydration(page);
  const usage = page.getByRole("region", { name: "Usage" });
  await expect(usage.getByTestId("usage-summary")).toHaveText("5 calls in the last 30 days, 1 refused.");
  await expect(usage.getByRole("img", { name: /Calls per day over the last 30 days/ })).toBeVisible();
  await usage.getByText("Show the numbers as a table").click();
  const today = usage.locator(".usage-table tbody tr").first();
  await expect(today.locator("td").nth(0)).toHaveText("4");
  await expect(today.locator("td").nth(1)).toHaveText("1");
  const addresses = usage.locator(".addresses-table tbody tr");
  await expect(addresses).toHaveCount(2);
  await expect(usage.locator(".addresses-table")).toContainText("198.51.100.23");
  await expect(usage.locator(".addresses-table")).toContainText("203.0.113.40");
  await expectAccessible(page, "Manage page with usage");
  if (process.env.TESSERA_SCREENSHOT_DIR) {
    await page.screenshot({ path: `${process.env.TESSERA_SCREENSHOT_DIR}/usage.png`, fullPage: true });
  }

  // A rate limit: checked as typed and by the server, then enforced.
  const limit = page.getByLabel("Rate limit (optional)");
  await limit.fill("fast");
  await expect(page.locator("#token-rate-limit-error")).toContainText("N/second, N/minute or N/hour");
  await limit.fill("2/minute");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByRole("status").getByText("Saved the access rules of “busy-bot”.")).toBeVisible();
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await call("198.51.100.23")).status());
  expect(statuses).toEqual([200, 200, 429]);
  const limited = await call("198.51.100.23");
  expect(limited.status()).toBe(429);
  expect(Number(limited.headers()["retry-after"])).toBeGreaterThan(0);
  expect(limited.headers()["ratelimit-policy"]).toBe('"token";q=2;w=60');

  // Administrators rank the busiest tokens of every account.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Usage" }).click();
  await expect(page).toHaveURL(/\/usage$/);
  await expect(page.locator(".busiest-table tbody tr", { hasText: "busy-bot" })).toContainText(account);
});
