// The release binary serves the app it embeds: the WASM, JS and CSS named in the page, under a versioned path
// that browsers keep for good, and the favicon.
import { admin, allowConsoleError, expect, newAccount, PASSWORD, test, waitForHydration } from "./helpers";

const IMMUTABLE = "public, max-age=31536000, immutable";

test("the page's script, WASM and stylesheet are served immutable under the build's version", async ({ request }) => {
  const page = await request.get("/login");
  expect(page.headers()["cache-control"], "the page itself is fetched afresh every time").toBe("no-store");
  const html = await page.text();
  const script = html.match(/\/assets\/[0-9a-f]{16}\/pkg\/[\w.-]+\.js/)?.[0];
  const wasm = html.match(/\/assets\/[0-9a-f]{16}\/pkg\/[\w.-]+\.wasm/)?.[0];
  const css = html.match(/\/assets\/[0-9a-f]{16}\/pkg\/[\w.-]+\.css/)?.[0];
  expect(script, "the page names its script").toBeTruthy();
  expect(wasm, "the page names its WASM").toBeTruthy();
  expect(css, "the page names its stylesheet").toBeTruthy();

  const js = await request.get(script!);
  expect(js.status()).toBe(200);
  expect(js.headers()["content-type"]).toContain("javascript");
  expect(js.headers()["cache-control"]).toBe(IMMUTABLE);

  const module = await request.get(wasm!);
  expect(module.status()).toBe(200);
  expect(module.headers()["content-type"]).toBe("application/wasm");
  expect(module.headers()["cache-control"]).toBe(IMMUTABLE);
  const bytes = await module.body();
  expect(bytes.subarray(0, 4)).toEqual(Buffer.from([0x00, 0x61, 0x73, 0x6d]));

  const style = await request.get(css!);
  expect(style.status()).toBe(200);
  expect(style.headers()["cache-control"]).toBe(IMMUTABLE);
  expect(await style.text()).toContain("--accent");

  // Another build's version is not found (never this build's file kept under that name for a year).
  const other = script!.replace(/\/assets\/[0-9a-f]{16}\//, "/assets/0000000000000000/");
  expect((await request.get(other)).status()).toBe(404);
  // The plain paths still answer, revalidated on every use.
  const plain = await request.get("/pkg/tessera.css");
  expect(plain.status()).toBe(200);
  expect(plain.headers()["cache-control"]).toBe("no-cache");

  for (const icon of ["/favicon.ico", "/favicon.svg"]) {
    expect((await request.get(icon)).status(), icon).toBe(200);
  }
});

test("a second visit downloads no script, WASM or stylesheet", async ({ page, context }) => {
  // Bytes as the browser received them (Chromium's own count, headers included), per visit and kind of file.
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  const urls = new Map<string, string>();
  const received = { first: { files: 0, page: 0 }, second: { files: 0, page: 0 } };
  let visit: "first" | "second" = "first";
  cdp.on("Network.responseReceived", (event) => urls.set(event.requestId, event.response.url));
  cdp.on("Network.loadingFinished", (event) => {
    const url = urls.get(event.requestId);
    if (!url) return;
    const path = new URL(url).pathname;
    if (/\.(js|wasm|css)$/.test(path)) received[visit].files += event.encodedDataLength;
    if (path === "/login") received[visit].page += event.encodedDataLength;
  });

  await page.goto("/login");
  await waitForHydration(page);
  visit = "second";
  await page.goto("about:blank");
  await page.goto("/login");
  await waitForHydration(page);
  await expect(page.getByRole("button", { name: "Sign in" })).toBeEnabled();

  expect(received.first.files, "the first visit downloads the app").toBeGreaterThan(100_000);
  expect(received.second.page, "the page itself is downloaded again").toBeGreaterThan(0);
  // Not even a revalidation (a 304 would count its headers).
  expect(received.second.files, "nothing else is").toBe(0);
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

// The signed-in pages are a WebAssembly module of their own (issue 17): the sign-in page never fetches it, a
// signed-in page names it for preloading, and signing in fetches it.
const SPLIT = /\/pkg\/(split|chunk)_[\w.-]+\.wasm$/;

test("the sign-in page downloads only the main module; signing in fetches the signed-in pages' module", async ({ page }) => {
  const fetched: string[] = [];
  page.on("request", (request) => fetched.push(new URL(request.url()).pathname));
  await page.goto("/login");
  await waitForHydration(page);
  await expect(page.getByRole("button", { name: "Sign in" })).toBeEnabled();
  expect(fetched.filter((path) => SPLIT.test(path)), "the sign-in page fetches no signed-in page").toEqual([]);

  await page.getByLabel("Username").fill(admin.username);
  await page.getByLabel("Password").fill(admin.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "API Tokens", level: 1 })).toBeVisible();
  expect(fetched.filter((path) => SPLIT.test(path)).length, "the tokens page came with its module").toBeGreaterThan(0);

  // A signed-in page loaded afresh names its module for preloading, beside the main one, under the build's version.
  // Read from the HTML as sent: the link is the server's, and hydration may take head elements it did not render.
  fetched.length = 0;
  const response = await page.goto("/audit");
  const html = (await response?.text()) ?? "";
  await waitForHydration(page);
  const preloads = [...html.matchAll(/<link\b[^>]*>/g)]
    .map(([link]) => link)
    .filter((link) => /rel="preload"/.test(link) && /as="fetch"/.test(link))
    .map((link) => /href="([^"]*)"/.exec(link)?.[1] ?? "")
    .filter((href) => SPLIT.test(href));
  expect(preloads.length, "the page names the signed-in pages' module").toBeGreaterThan(0);
  expect(html, "the page comes whole, its title in the head as sent").toContain("<title>Audit log · Tessera</title>");
  for (const href of preloads) expect(href).toMatch(/^\/assets\/[0-9a-f]{16}\/pkg\/(split|chunk)_[\w.-]+\.wasm$/);
  // The split modules' loader too, which the script imports.
  expect(html, "the split modules' loader is named too").toMatch(/<link\b[^>]*rel="modulepreload"[^>]*href="[^"]*\/pkg\/__wasm_split\./);
  const unique = (paths: string[]) => [...new Set(paths)].sort();
  expect(unique(fetched.filter((path) => SPLIT.test(path))), "what the page fetched is what it named").toEqual(unique(preloads));
  await expect(page.getByRole("heading", { name: "Audit log", level: 1 })).toBeVisible();
});

test("a tab opened before an upgrade loads the current build when the old one's module is gone", async ({ page }) => {
  allowConsoleError(/load callback should succeed|unreachable|status of 404|HTTP status code is not ok/, "the module is made to 404 once, as after an upgrade");
  const account = newAccount("upgrade");
  await page.goto("/login");
  await waitForHydration(page);
  // The server was upgraded while the sign-in page sat open: its build's signed-in module is gone (once).
  let gone = 0;
  await page.route(/\/pkg\/split_[\w.-]+\.wasm$/, async (route) => {
    if (gone++ === 0) await route.fulfill({ status: 404, body: "" });
    else await route.continue();
  });
  const documents: string[] = [];
  page.on("request", (request) => request.resourceType() === "document" && documents.push(new URL(request.url()).pathname));

  await page.getByLabel("Username").fill(account);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/tokens$/);
  await expect(page.getByRole("heading", { name: "API Tokens", level: 1 })).toBeVisible();
  await waitForHydration(page);
  expect(gone, "the old module was asked for, then the current one").toBeGreaterThanOrEqual(2);
  expect(documents, "the tab reloaded the page it was going to").toContain("/tokens");
  // And it works: a client-side move to another page.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();
  await expect(page.getByRole("heading", { name: "Audit log", level: 1 })).toBeVisible();
});
