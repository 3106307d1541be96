// Journey: page through a 60-token list and change the page size; the URL keeps the page across a reload.
import { expect, openSixtyTokenList, test, waitForHydration } from "./helpers";

test("paging and page size live in the URL", async ({ page }) => {
  const { range } = await openSixtyTokenList(page, "paging");

  // Paging.
  await page.getByRole("button", { name: "Next" }).click();
  await expect(range).toHaveText("21–40 of 60");
  await expect(page).toHaveURL(/page=2/);
  await page.reload();
  await waitForHydration(page);
  await expect(range).toHaveText("21–40 of 60");

  // Page size from the gear menu.
  await page.getByLabel("Table settings").first().click();
  await page.getByRole("radio", { name: "50" }).check();
  await expect(range).toHaveText("1–50 of 60");
  await expect(page).toHaveURL(/per_page=50/);
});
