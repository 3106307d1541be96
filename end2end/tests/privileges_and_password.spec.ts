// An administrator defines a privilege of their own; it appears in the token form and goes when removed.
// An account changes its own password: the current one is required, and the new one signs in.
import { allowConsoleError, expect, newAccount, PASSWORD, signIn, test, waitForHydration } from "./helpers";

test("operator-defined privileges appear in the token form until removed", async ({ page }) => {
  allowConsoleError(/status of 409/, "it adds the same privilege twice, to see the server refuse the second");
  const admin = newAccount("privileges");
  const name = `billing:read-${Date.now() % 100000}`;
  await signIn(page, admin, PASSWORD);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Privileges" }).click();
  await expect(page.getByRole("heading", { name: "Privileges", level: 1 })).toBeVisible();
  await waitForHydration(page);

  await page.getByRole("textbox", { name: "Name" }).fill("Billing Read");
  await expect(page.locator("#privilege-name-error")).toContainText("must start with a lower-case letter");
  await page.getByRole("textbox", { name: "Name" }).fill(name);
  await page.getByRole("textbox", { name: "Label" }).fill("Read invoices");
  await page.getByRole("button", { name: "Add privilege" }).click();
  await expect(page.getByRole("status").getByText(`Added privilege “${name}”.`)).toBeVisible();
  await expect(page.locator(`tr[data-privilege="${name}"]`)).toContainText("Read invoices");

  // The same name again: the server's error lands on the field.
  await page.getByRole("textbox", { name: "Name" }).fill(name);
  await page.getByRole("textbox", { name: "Label" }).fill("Again");
  await page.getByRole("button", { name: "Add privilege" }).click();
  await expect(page.locator("#privilege-name-error")).toContainText("already exists");

  await page.goto("/tokens/new");
  await waitForHydration(page);
  await expect(page.getByRole("checkbox", { name: new RegExp(name) })).toBeVisible();

  await page.goto("/privileges");
  await waitForHydration(page);
  await page.locator(`tr[data-privilege="${name}"]`).getByRole("button", { name: "Remove" }).click();
  const dialog = page.getByRole("dialog", { name: `Remove privilege “${name}”?` });
  await dialog.getByRole("button", { name: "Remove" }).click();
  await expect(page.getByRole("status").getByText(`Removed “${name}”`)).toBeVisible();
  await expect(page.locator(`tr[data-privilege="${name}"]`)).toHaveCount(0);
  await page.goto("/tokens/new");
  await waitForHydration(page);
  await expect(page.getByRole("checkbox", { name: /List Accounts/ })).toBeVisible();
  await expect(page.getByRole("checkbox", { name: new RegExp(name) })).toHaveCount(0);
});

test("change your own password", async ({ page }) => {
  allowConsoleError(/status of 422/, "it types a wrong current password, to see the server refuse it");
  const account = newAccount("passwd");
  await signIn(page, account, PASSWORD);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Change password" })).toBeVisible();
  await waitForHydration(page);

  await page.getByLabel("Current password").fill("not-my-password");
  await page.getByLabel("New password").fill("quiet-meadow-lantern-7");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.locator("#current-password-error")).toContainText("The current password is not right.");

  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByRole("status").getByText("Password changed.")).toBeVisible();

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await signIn(page, account, "quiet-meadow-lantern-7");
});
