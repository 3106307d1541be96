// Journey: search narrows a 60-token list as you type, across all pages; the URL keeps the search.
import type { Page } from "@playwright/test";
import { expect, openSixtyTokenList, test } from "./helpers";

/** Holds the server's answers to the list's call for a search for `text` until `release` is called. */
async function holdAnswersTo(page: Page, text: string) {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const state = { sent: false };
  await page.route("**/rpc/token_table", async (route) => {
    if (new URLSearchParams(route.request().postData() ?? "").get("query[search]") === text) {
      state.sent = true;
      await held;
    }
    await route.continue();
  });
  return { release, sent: () => state.sent };
}

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

test("a slow answer to an earlier search never replaces the newer one", async ({ page }) => {
  const { range, rows } = await openSixtyTokenList(page, "stale");
  // Every count the list shows from here on.
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { seen: string[] }).seen = seen;
    const counter = document.querySelector(".range")!;
    new MutationObserver(() => seen.push(counter.textContent ?? "")).observe(counter, {
      subtree: true,
      childList: true,
      characterData: true,
    });
  });
  // Hold the server's answer for "dep" back until the newer search has been typed.
  const slow = await holdAnswersTo(page, "dep");

  const search = page.getByRole("searchbox", { name: "Search tokens by name" });
  await search.fill("dep");
  await expect.poll(slow.sent).toBe(true);
  await search.fill("deploy-1");
  // Past the typing pace: the newer search is asked for. (Its call goes out once the older one's answer is in:
  // a Leptos resource runs one fetch at a time.)
  await page.waitForTimeout(500);
  slow.release();

  await expect(range).toHaveText("1–3 of 3");
  await expect(rows).toHaveCount(3);
  await expect(page).toHaveURL(/q=deploy-1/);
  await page.waitForTimeout(500);
  const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
  expect(seen, "the answer for the older search is never shown").not.toContain("1–20 of 20");
  await expect(range).toHaveText("1–3 of 3");
  await expect(search).toHaveValue("deploy-1");
});

test("a search's address is written once its rows are on screen, one history entry per search", async ({ page }) => {
  const { range, rows } = await openSixtyTokenList(page, "address");
  const answer = await holdAnswersTo(page, "dep");

  // While the answer is on its way, the list and its address are still the whole list's.
  const search = page.getByRole("searchbox", { name: "Search tokens by name" });
  await search.fill("dep");
  await expect.poll(answer.sent).toBe(true);
  await page.waitForTimeout(300);
  expect(new URL(page.url()).search).toBe("");
  await expect(range).toHaveText("1–20 of 60");
  // Its rows, then its address; the typed text stays as typed.
  answer.release();
  await expect(range).toHaveText("1–20 of 20");
  await expect(page).toHaveURL(/\/tokens\?q=dep$/);
  await search.pressSequentially("loy-1", { delay: 60 });
  await expect(rows).toHaveCount(3);
  await expect(page).toHaveURL(/\/tokens\?q=deploy-1$/);
  await expect(search).toHaveValue("deploy-1");

  // The keystrokes of one search are one history entry: Back returns to the whole list.
  await page.goBack();
  await expect(page).toHaveURL(/\/tokens$/);
  await expect(range).toHaveText("1–20 of 60");
  await expect(search).toHaveValue("");
});

test("leaving the list before a search's rows arrive stays left", async ({ page }) => {
  const { range } = await openSixtyTokenList(page, "leave");
  const answer = await holdAnswersTo(page, "worker");
  await page.getByRole("searchbox", { name: "Search tokens by name" }).fill("worker");
  await expect.poll(answer.sent).toBe(true);
  await page.getByRole("link", { name: "Create" }).first().click();
  await expect(page).toHaveURL(/\/tokens\/new$/);
  answer.release();
  await page.waitForTimeout(500);
  await expect(page).toHaveURL(/\/tokens\/new$/);
  await page.goBack();
  await expect(page).toHaveURL(/\/tokens$/);
  await expect(range).toHaveText("1–20 of 60");
});
