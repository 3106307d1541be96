// Browser tests run in Debian's Chromium (Playwright never downloads a browser here) against a tessera server
// that `run.sh` starts on a free port with a throw-away database.
import { defineConfig } from "@playwright/test";

const baseURL = process.env.TESSERA_BASE_URL;
if (!baseURL) {
  throw new Error("TESSERA_BASE_URL is not set: run the browser tests with `make test` (end2end/run.sh).");
}

export default defineConfig({
  testDir: "./tests",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [{ name: "chromium", use: { browserName: "chromium" } }],
});
