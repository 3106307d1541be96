// Journey: create a token choosing the expiry on the calendar with the mouse, copy the secret, confirm.
import { expect, newAccount, PASSWORD, signIn, test } from "./helpers";

test.use({ permissions: ["clipboard-read", "clipboard-write"] });

test("create a token with a date picked on the calendar, copy it, and see it listed", async ({ page }) => {
  const account = newAccount("mouse");
  await signIn(page, account, PASSWORD);
  await page.getByRole("link", { name: "Create", exact: true }).click();
  await expect(page).toHaveURL(/\/tokens\/new$/);

  await page.getByRole("textbox", { name: "Name" }).fill("deploy-bot");
  await expect(page.getByText("10/50")).toBeVisible();
  await expect(page.getByLabel("Specify an expiration date.")).toBeChecked();
  const dateField = page.getByRole("textbox", { name: "Expiration date" });
  const suggested = await dateField.inputValue();
  expect(suggested).toMatch(/^\d{4}-\d{2}-\d{2}$/);

  await page.getByRole("button", { name: "Choose date" }).click();
  const calendar = page.getByRole("dialog");
  await expect(calendar).toBeVisible();
  await calendar.getByRole("button", { name: "Next month" }).click();
  const heading = await calendar.locator(".calendar-month").textContent();
  await calendar.locator("button.calendar-day:not(.outside)", { hasText: /^15$/ }).click();
  await expect(calendar).toBeHidden();
  const chosen = await dateField.inputValue();
  expect(chosen.endsWith("-15")).toBe(true);
  const month = new Date(`${chosen}T12:00:00Z`).toLocaleString("en-US", { month: "long", year: "numeric", timeZone: "UTC" });
  expect(heading).toBe(month);
  await expect(page.getByText(/23:59:59 on this day, server time \([A-Za-z_+-]+(\/[A-Za-z_+-]+)*\)\.$/)).toBeVisible();

  // Typing keeps the calendar in sync the other way.
  await dateField.fill(suggested);
  await page.getByRole("button", { name: "Choose date" }).click();
  await expect(page.locator(`[data-date="${suggested}"]`)).toHaveClass(/selected/);

  // The year buttons move twelve months at a time.
  const year = Number(suggested.slice(0, 4));
  const monthName = (await calendar.locator(".calendar-month").textContent())!.split(" ")[0];
  await calendar.getByRole("button", { name: "Next year" }).click();
  await expect(calendar.locator(".calendar-month")).toHaveText(`${monthName} ${year + 1}`);
  await calendar.getByRole("button", { name: "Previous year" }).click();
  await expect(calendar.locator(".calendar-month")).toHaveText(`${monthName} ${year}`);

  // A year back is this month: today is marked, the suggested expiry was one year from it, and earlier
  // days cannot be chosen.
  await calendar.getByRole("button", { name: "Previous year" }).click();
  const todayCell = calendar.locator('[aria-current="date"]');
  await expect(todayCell).toHaveCount(1);
  const today = (await todayCell.getAttribute("data-date"))!;
  expect(suggested).toBe(`${Number(today.slice(0, 4)) + 1}${today.slice(4)}`.replace(/-02-29$/, "-02-28"));
  const yesterday = new Date(`${today}T12:00:00Z`);
  yesterday.setUTCDate(yesterday.getUTCDate() - 1);
  const past = calendar.locator(`[data-date="${yesterday.toISOString().slice(0, 10)}"]`);
  if ((await past.count()) > 0) {
    await expect(past).toHaveAttribute("aria-disabled", "true");
    await past.click({ force: true });
    await expect(calendar, "a past day does nothing when clicked").toBeVisible();
  }

  // A click outside closes the calendar and leaves focus where the click put it; the date stays.
  const nameField = page.getByRole("textbox", { name: "Name" });
  await nameField.click();
  await expect(calendar).toBeHidden();
  await expect(nameField).toBeFocused();
  await expect(dateField).toHaveValue(suggested);

  await page.getByRole("button", { name: "Create", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Your new API token" })).toBeVisible();
  const secret = await page.getByLabel("Token secret").inputValue();
  expect(secret).toMatch(/^tsr_[0-9A-Za-z]{38}$/);
  await expect(page.getByText("This is the only time the token is shown.")).toBeVisible();
  // The toast says so too (it stays six seconds: checked now, not after the two-second copy below).
  await expect(page.getByRole("status").filter({ hasText: "Created API token “deploy-bot”." })).toBeVisible();

  await page.getByRole("button", { name: "Copy" }).click();
  await expect(page.getByRole("button", { name: "Copied" })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  await expect(page.getByRole("button", { name: "Copy" })).toBeVisible({ timeout: 4000 });

  await page.getByRole("button", { name: "Yes, I saved my token" }).click();
  await expect(page).toHaveURL(/\/tokens$/);
  const row = page.locator("tr", { hasText: "deploy-bot" });
  await expect(row).toBeVisible();
  await expect(row).toContainText(secret.slice(0, 8));
  await expect(row).not.toContainText(secret.slice(8));
});
