// The release binary serves the app it embeds: the WASM and JS named in the page, the CSS, the favicon.
import { expect, test } from "./helpers";

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

test("browsers that accept brotli get the copy precompressed at build time", async ({ request }) => {
  const wasm = "/pkg/tessera.wasm";
  const get = (acceptEncoding: string, ifNoneMatch?: string) =>
    request.get(wasm, {
      headers: { "accept-encoding": acceptEncoding, ...(ifNoneMatch ? { "if-none-match": ifNoneMatch } : {}) },
    });

  const plain = await get("identity");
  expect(plain.headers()["content-encoding"]).toBeUndefined();
  const raw = await plain.body();

  const br = await get("gzip, deflate, br, zstd");
  expect(br.headers()["content-encoding"]).toBe("br");
  expect(br.headers()["vary"]).toContain("accept-encoding");
  expect(br.headers()["content-type"]).toBe("application/wasm");
  expect(await br.body(), "the same module once decoded").toEqual(raw);
  // A precompressed copy has a known length (on-the-fly compression streams without one) and, at brotli
  // quality 11, is about a quarter of the module (the compression layer's fast setting gives about a third).
  const sent = Number(br.headers()["content-length"]);
  expect(sent).toBeGreaterThan(0);
  expect(sent).toBeLessThan(raw.length * 0.3);

  const gzip = await get("br;q=0, gzip");
  expect(gzip.headers()["content-encoding"], "a refused coding is never sent").toBe("gzip");
  expect(await gzip.body()).toEqual(raw);

  const [plainTag, brTag] = [plain, br].map((r) => r.headers()["etag"]);
  expect(brTag, "each representation has its own ETag").not.toBe(plainTag);
  expect((await get("br", brTag)).status()).toBe(304);
  expect((await get("identity", brTag)).status(), "a brotli ETag does not validate the plain file").toBe(200);

  expect((await request.get(`${wasm}.br`)).status(), "the copies are not files of their own").toBe(404);
});

test("the browser console stays clean while signing in", async ({ page }) => {
  const problems: string[] = [];
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto("/login");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  expect(problems).toEqual([]);
});
