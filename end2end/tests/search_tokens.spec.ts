// Journey: search narrows a 60-token list as you type, across all pages; the URL keeps the search.
import { expect, test } from "@playwright/test";
import { openSixtyTokenList } from "./helpers";

test("search narrows a 60-token list as you type", async ({ page }) => {
  const { range, rows } = await openSixtyTokenList(page, "search");

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
});
