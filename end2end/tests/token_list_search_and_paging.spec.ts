// Journey: find tokens in a long list: live search, paging, page size, sorting; the URL keeps it all.
import { expect, test } from "@playwright/test";
import { PASSWORD, newAccount, signIn, tessera } from "./helpers";

test("search narrows a 60-token list as you type; paging, page size and sort live in the URL", async ({ page }) => {
  const account = newAccount("sixty");
  for (let i = 0; i < 60; i++) {
    const name = i % 3 === 0 ? `deploy-${String(i).padStart(2, "0")}` : `worker_${String(i).padStart(2, "0")}`;
    tessera(["token", "create", "--account", account, "--name", name, "--privilege", "list-accts"]);
  }
  await signIn(page, account, PASSWORD);
  const range = page.locator(".range");
  const rows = page.locator("tbody tr");
  await expect(range).toHaveText("1–20 of 60");
  await expect(rows).toHaveCount(20);

  // Narrowing as you type, across all pages, case-insensitively.
  const search = page.getByRole("searchbox", { name: "Search tokens by name" });
  await search.pressSequentially("DEP", { delay: 60 });
  await expect(range).toHaveText("1–20 of 20");
  await expect(page).toHaveURL(/q=DEP/);
  await search.pressSequentially("LOY-1", { delay: 60 });
  await expect(range).toHaveText("1–3 of 3");
  await expect(rows).toHaveCount(3);
  await search.fill("nothing-like-this");
  await expect(page.getByRole("heading", { name: "No tokens match “nothing-like-this”" })).toBeVisible();
  await page.getByRole("button", { name: "Clear search" }).click();
  await expect(range).toHaveText("1–20 of 60");
  await expect(search).toHaveValue("");

  // Paging.
  await page.getByRole("button", { name: "Next" }).click();
  await expect(range).toHaveText("21–40 of 60");
  await expect(page).toHaveURL(/page=2/);
  await page.reload();
  await expect(range).toHaveText("21–40 of 60");

  // Page size from the gear menu.
  await page.getByLabel("Table settings").first().click();
  await page.getByRole("radio", { name: "50" }).check();
  await expect(range).toHaveText("1–50 of 60");
  await expect(page).toHaveURL(/per_page=50/);

  // Sorting by name, both ways.
  await page.getByRole("button", { name: "Name" }).click();
  await expect(page.locator("thead th[aria-sort=ascending]")).toContainText("Name");
  await expect(rows.first()).toContainText("deploy-00");
  await page.getByRole("button", { name: "Name" }).click();
  await expect(rows.first()).toContainText("worker_59");
  await expect(page).toHaveURL(/sort=name&dir=desc/);

  // Back goes to the previous state.
  await page.goBack();
  await expect(rows.first()).toContainText("deploy-00");
  await expect(page.locator("thead th[aria-sort=ascending]")).toContainText("Name");
});
