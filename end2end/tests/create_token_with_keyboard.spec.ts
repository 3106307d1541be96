// Journey: create tokens using only the keyboard, with each expiry choice, and "create another".
import { expect, newAccount, PASSWORD, signIn, test, waitForHydration } from "./helpers";

function addDays(iso: string, days: number): string {
  const d = new Date(`${iso}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function addMonths(iso: string, months: number): string {
  const d = new Date(`${iso}T12:00:00Z`);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d.toISOString().slice(0, 10);
}

test("the calendar follows the WAI-ARIA keys and gives focus back", async ({ page }) => {
  const account = newAccount("keys");
  await signIn(page, account, PASSWORD);
  await page.goto("/tokens/new");
  await waitForHydration(page);
  await page.getByRole("textbox", { name: "Name" }).fill("keyboard-token");
  const start = await page.getByRole("textbox", { name: "Expiration date" }).inputValue();

  const button = page.getByRole("button", { name: "Choose date" });
  await button.focus();
  await page.keyboard.press("Enter");
  const focused = () => page.evaluate(() => document.activeElement?.getAttribute("data-date"));
  await expect.poll(focused).toBe(start);

  await page.keyboard.press("ArrowRight");
  await expect.poll(focused).toBe(addDays(start, 1));
  await page.keyboard.press("ArrowDown");
  await expect.poll(focused).toBe(addDays(start, 8));
  await page.keyboard.press("ArrowUp");
  await page.keyboard.press("ArrowLeft");
  await expect.poll(focused).toBe(start);
  await page.keyboard.press("PageDown");
  await expect.poll(focused).toBe(addMonths(start, 1));
  await page.keyboard.press("Shift+PageDown");
  await expect.poll(focused).toBe(addMonths(start, 13));
  await page.keyboard.press("Shift+PageUp");
  await page.keyboard.press("PageUp");
  await expect.poll(focused).toBe(start);
  const weekday = new Date(`${start}T12:00:00Z`).getUTCDay();
  await page.keyboard.press("Home");
  await expect.poll(focused).toBe(addDays(start, -weekday));
  await page.keyboard.press("End");
  await expect.poll(focused).toBe(addDays(start, 6 - weekday));

  await page.keyboard.press("Enter");
  await expect(page.getByRole("dialog")).toBeHidden();
  await expect(page.getByRole("textbox", { name: "Expiration date" })).toHaveValue(addDays(start, 6 - weekday));
  await expect(button).toBeFocused();

  await page.keyboard.press("Enter");
  await expect(page.getByRole("dialog")).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(page.getByRole("dialog")).toBeHidden();
  await expect(button).toBeFocused();

  // Create it with the keyboard too; the list shows the chosen day, ending at 23:59:59.
  const chosen = addDays(start, 6 - weekday);
  await page.getByRole("button", { name: "Create", exact: true }).focus();
  await page.keyboard.press("Enter");
  const saved = page.getByRole("button", { name: "Yes, I saved my token" });
  await expect(saved).toBeVisible();
  await saved.focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/tokens$/);
  const [y, m, d] = chosen.split("-").map(Number);
  const month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][m - 1];
  await expect(page.locator('tr[data-token="keyboard-token"]')).toContainText(`${month} ${d}, ${y} 23:59:59`);
});

test("create a never-expiring token by keyboard, then another one", async ({ page }) => {
  const account = newAccount("never");
  await signIn(page, account, PASSWORD);
  await page.goto("/tokens/new");
  await waitForHydration(page);
  await page.getByRole("textbox", { name: "Name" }).focus();
  await page.keyboard.type("forever");
  // The expiry choice is a radio group: arrow keys move between its options.
  await page.getByLabel("Specify an expiration date.").focus();
  await page.keyboard.press("ArrowUp");
  await expect(page.getByLabel("The API Token will not expire.")).toBeChecked();
  await expect(page.getByText("We recommend an expiration date")).toBeVisible();
  await expect(page.getByRole("textbox", { name: "Expiration date" })).toHaveCount(0);
  await page.getByRole("button", { name: "Create", exact: true }).focus();
  await page.keyboard.press("Enter");

  await expect(page.getByRole("heading", { name: "Your new API token" })).toBeVisible();
  await page.getByLabel("Create another token after I click Yes, I saved my token").focus();
  await page.keyboard.press("Space");
  await expect(page.getByLabel("Create another token after I click Yes, I saved my token")).toBeChecked();
  await page.getByRole("button", { name: "Yes, I saved my token" }).focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/tokens\/new$/);
  await expect(page.getByRole("textbox", { name: "Name" })).toHaveValue("");

  await page.getByRole("textbox", { name: "Name" }).fill("second");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await page.getByRole("button", { name: "Yes, I saved my token" }).click();
  await expect(page).toHaveURL(/\/tokens$/);
  await expect(page.locator("tr", { hasText: "forever" })).toContainText("Never");
  await expect(page.locator("tr", { hasText: "second" })).toBeVisible();
});
