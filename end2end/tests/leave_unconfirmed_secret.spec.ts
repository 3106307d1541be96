// Journey: leave the reveal panel before confirming the secret is saved: the app and the browser ask first.
import { expect, newAccount, PASSWORD, signIn, test, waitForHydration } from "./helpers";

test("leaving an unconfirmed secret asks first", async ({ page }) => {
  const account = newAccount("leave");
  await signIn(page, account, PASSWORD);
  await page.goto("/tokens/new");
  await waitForHydration(page);
  await page.getByRole("textbox", { name: "Name" }).fill("unsaved");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await expect(page.getByLabel("Token secret")).toBeVisible();

  const questions: string[] = [];
  page.on("dialog", async (d) => {
    questions.push(d.type());
    await d.dismiss();
  });
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account", exact: true }).click();
  await expect.poll(() => questions).toEqual(["confirm"]);
  await expect(page.getByLabel("Token secret")).toBeVisible();
  await expect(page).toHaveURL(/\/tokens\/new$/);

  // The browser's Back button asks too: staying keeps the secret on screen...
  await page.evaluate(() => history.back());
  await expect.poll(() => questions).toEqual(["confirm", "confirm"]);
  await expect(page.getByLabel("Token secret")).toBeVisible();
  await expect(page).toHaveURL(/\/tokens\/new$/);

  // Closing the tab asks as well (the browser's own question, before the page unloads).
  await page.close({ runBeforeUnload: true });
  await expect.poll(() => questions).toEqual(["confirm", "confirm", "beforeunload"]);
  expect(page.isClosed()).toBe(false);
  await expect(page.getByLabel("Token secret")).toBeVisible();

  // ...and agreeing leaves.
  page.removeAllListeners("dialog");
  page.on("dialog", async (d) => {
    questions.push(d.type());
    await d.accept();
  });
  await page.evaluate(() => history.back());
  await expect.poll(() => questions.length).toBe(4);
  await expect(page).toHaveURL(/\/tokens$/);
});
