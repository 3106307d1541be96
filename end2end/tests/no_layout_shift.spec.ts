// No layout shift when data arrives: the server renders each list with its data, hydration keeps it, and
// refetches keep the previous rows until the new ones arrive. Measured with the browser's own Layout
// Instability API (shifts right after user input do not count, as in Core Web Vitals' CLS).
import { type Page } from "@playwright/test";
import { createToken, expect, newAccount, PASSWORD, signIn, test, waitForHydration } from "./helpers";

async function layoutShift(page: Page): Promise<number> {
  return page.evaluate(
    () => (window as unknown as { tesseraShift: number }).tesseraShift ?? 0,
  );
}

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => {
    const w = window as unknown as { tesseraShift: number };
    w.tesseraShift = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as unknown as { value: number; hadRecentInput: boolean }[]) {
        if (!entry.hadRecentInput) w.tesseraShift += entry.value;
      }
    }).observe({ type: "layout-shift", buffered: true });
  });
});

test("the lists do not move while their data loads", async ({ page }) => {
  const account = newAccount("cls");
  for (let i = 0; i < 25; i++) createToken(account, `token-${i}`);
  await signIn(page, account, PASSWORD);
  for (const path of ["/tokens", "/tokens?page=2", "/accounts", "/audit", "/privileges"]) {
    await page.goto(path);
    await waitForHydration(page);
    await expect(page.locator("tbody tr").first()).toBeVisible();
    await page.waitForTimeout(500);
    expect(await layoutShift(page), `${path}: cumulative layout shift`).toBeLessThan(0.01);
  }
});
