// Shared steps of the browser journeys.
import { expect, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";

export const admin = {
  username: "admin",
  password: process.env.TESSERA_ADMIN_PASSWORD ?? "",
};

/** Waits until the WASM app has hydrated (the server marks nothing; the app sets this when it starts). */
export async function waitForHydration(page: Page) {
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
}

/** Signs in through the login form and waits for the tokens page. */
export async function signIn(page: Page, username = admin.username, password = admin.password) {
  await page.goto("/login");
  await waitForHydration(page);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/tokens$/);
}

/** Runs the tessera CLI against the test server's database. */
export function tessera(args: string[], input?: string): string {
  const bin = process.env.TESSERA_BIN;
  if (!bin) throw new Error("TESSERA_BIN is not set");
  return execFileSync(bin, args, { input, encoding: "utf8", env: process.env });
}
