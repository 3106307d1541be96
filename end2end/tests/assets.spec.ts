// The release binary serves the app it embeds: the WASM and JS named in the page, the CSS, the favicon.
import { expect, test } from "@playwright/test";

test("the page's script, WASM, stylesheet and favicon are served by the binary", async ({ request }) => {
  const html = await (await request.get("/login")).text();
  const script = html.match(/\/pkg\/[\w.-]+\.js/)?.[0];
  const wasm = html.match(/\/pkg\/[\w.-]+\.wasm/)?.[0];
  expect(script, "the page names its script").toBeTruthy();
  expect(wasm, "the page names its WASM").toBeTruthy();

  const js = await request.get(script!);
  expect(js.status()).toBe(200);
  expect(js.headers()["content-type"]).toContain("javascript");

  const module = await request.get(wasm!);
  expect(module.status()).toBe(200);
  expect(module.headers()["content-type"]).toBe("application/wasm");
  const bytes = await module.body();
  expect(bytes.subarray(0, 4)).toEqual(Buffer.from([0x00, 0x61, 0x73, 0x6d]));

  const css = await request.get("/pkg/tessera.css");
  expect(css.status()).toBe(200);
  expect(await css.text()).toContain("--accent");

  for (const icon of ["/favicon.ico", "/favicon.svg"]) {
    expect((await request.get(icon)).status(), icon).toBe(200);
  }
});

test("the browser console stays clean while signing in", async ({ page }) => {
  const problems: string[] = [];
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto("/login");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  expect(problems).toEqual([]);
});
