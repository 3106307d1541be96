// Journey: sort a 60-token list by name both ways; the URL keeps the sort and Back returns to the previous one.
import { expect, openSixtyTokenList, test } from "./helpers";

test("sorting by name both ways, and Back restores the previous sort", async ({ page }) => {
  const { rows } = await openSixtyTokenList(page, "sort");

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
