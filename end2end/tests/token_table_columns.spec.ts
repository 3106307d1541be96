// Journey: read the tokens table: dates as people write them with the exact time on hover, "Never" and "Any"
// where nothing is set, long allowlists folded until opened, and the newest token first.
import { createToken, expect, newAccount, PASSWORD, signIn, test } from "./helpers";

test("each column shows its value the way the issue describes", async ({ page }) => {
  const account = newAccount("columns");
  createToken(account, "plain");
  createToken(account, "fenced", ["--ip", "192.0.2.1", "--ip", "192.0.2.2", "--ip", "10.0.0.0/8"]);
  await signIn(page, account, PASSWORD);

  // Newest first by default.
  await expect(page.locator("tbody tr")).toHaveCount(2);
  await expect(page.locator("tbody tr").first()).toHaveAttribute("data-token", "fenced");

  const plain = page.locator('tr[data-token="plain"]');
  const created = plain.locator("td.date-cell time");
  await expect(created).toHaveText(/^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{2}:\d{2}:\d{2}$/);
  const iso = await created.getAttribute("title");
  expect(iso).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$/);
  expect(await created.getAttribute("datetime")).toBe(iso);
  // The hover text is the exact time (in the server's zone, with its offset) that the short form abbreviates.
  const [, y, m, d, time] = iso!.match(/^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2}:\d{2})/)!;
  const month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][Number(m) - 1];
  await expect(created).toHaveText(`${month} ${Number(d)}, ${y} ${time}`);
  await expect(plain).toContainText("Any");
  await expect(plain.locator("td").nth(5)).toHaveText("Never");

  const fenced = page.locator('tr[data-token="fenced"]');
  const fold = fenced.locator("details.fold");
  await expect(fold.locator("summary")).toHaveText("10.0.0.0/8, 192.0.2.1 +1 more");
  await expect(fold.locator(".ip-list")).toBeHidden();
  await fold.locator("summary").click();
  await expect(fold.locator(".ip-list")).toHaveText("192.0.2.2");
});
