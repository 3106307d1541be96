// The README's screenshots, taken from the real app. They are written to docs/screenshots/ when
// TESSERA_SCREENSHOT_DIR is set (`make screenshots`), and into the test's output folder otherwise.
import { expect, test } from "@playwright/test";
import path from "node:path";
import { signIn, waitForHydration } from "./helpers";

const target = (name: string, fallback: string) =>
  process.env.TESSERA_SCREENSHOT_DIR ? path.join(process.env.TESSERA_SCREENSHOT_DIR, name) : fallback;

test.use({ viewport: { width: 1100, height: 640 }, colorScheme: "light" });

test("sign-in page and signed-in shell", async ({ page }, info) => {
  await page.goto("/login");
  await waitForHydration(page);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await page.screenshot({ path: target("login.png", info.outputPath("login.png")) });

  await signIn(page);
  await expect(page.getByText("No API tokens yet")).toBeVisible();
  await page.screenshot({ path: target("tokens.png", info.outputPath("tokens.png")) });
});
