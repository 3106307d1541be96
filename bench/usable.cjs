// `make bench` helper (issue 17): how soon the tokens page is usable, in headless Chromium on loopback with the
// CPU slowed 4x (Chrome DevTools Protocol `Emulation.setCPUThrottlingRate`), timed in the page itself
// (`performance.now()`, from the navigation's start).
//
// Usage: NODE_PATH=end2end/node_modules node bench/usable.cjs BASE_SMALL BASE_BIG USERNAME PASSWORD ROUNDS
//   BASE_SMALL: a server where USERNAME holds 1,000 tokens; BASE_BIG: one where USERNAME holds 100,000.
// Prints `usable_NAME median_ms max_ms rounds` lines:
//   usable_hydrated_1k   navigation start to the app hydrated (the WASM running the page);
//   usable_sort_1k       navigation start to the rows sorted by a click on "Name" made as soon as it hydrated;
//   usable_keystroke_100k  a keystroke in the search box (after a pause in typing) to the filtered rows shown,
//   then its parts: usable_keystroke_to_call (to the list's server call sent), usable_keystroke_call (the call),
//   usable_keystroke_render (its answer to the rows on screen).
const { chromium } = require("@playwright/test");

const [baseSmall, baseBig, username, password, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 7);
if (!baseSmall || !baseBig || !username || !password) {
  console.error("usage: usable.cjs BASE_SMALL BASE_BIG USERNAME PASSWORD ROUNDS");
  process.exit(2);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const report = (name, values) =>
  console.log(`${name} ${median(values).toFixed(1)} ${Math.max(...values).toFixed(1)} ${values.length}`);

// Records, in every document, the moment the app marks itself hydrated.
function markHydration() {
  const mark = () => {
    if (document.documentElement?.dataset.hydrated === "true" && window.__hydratedAt === undefined) {
      window.__hydratedAt = performance.now();
    }
  };
  new MutationObserver(mark).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-hydrated"] });
}

async function signedIn(browser, base) {
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  await page.goto("/login");
  await page.locator("html[data-hydrated=true]").waitFor();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/tokens$/);
  await page.addInitScript(markHydration);
  const cdp = await context.newCDPSession(page);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  return { context, page };
}

async function hydrationAndSort(browser) {
  const { context, page } = await signedIn(browser, baseSmall);
  const hydrated = [];
  const sorted = [];
  // One visit first, so every measured one finds the files in the browser's cache, as a returning person does.
  await page.goto("/tokens");
  await page.waitForFunction(() => window.__hydratedAt !== undefined);
  for (let round = 0; round < rounds; round++) {
    await page.goto("about:blank");
    await page.goto("/tokens", { waitUntil: "commit" });
    await page.waitForFunction(() => window.__hydratedAt !== undefined, null, { polling: 5, timeout: 30_000 });
    await page.getByRole("button", { name: "Name" }).click();
    await page.locator("thead th[aria-sort=ascending]", { hasText: "Name" }).waitFor();
    // The rows as sorted by name: each row's name is not after the next one's.
    await page.waitForFunction(() => {
      const names = [...document.querySelectorAll("tbody tr[data-token]")].map((row) => row.dataset.token);
      const inOrder = (name, i) => i === 0 || names[i - 1].localeCompare(name, "en", { sensitivity: "base" }) <= 0;
      return names.length > 1 && names.every(inOrder);
    }, null, { polling: "raf", timeout: 30_000 });
    const times = await page.evaluate(() => ({ hydrated: window.__hydratedAt, sorted: performance.now() }));
    hydrated.push(times.hydrated);
    sorted.push(times.sorted);
  }
  await context.close();
  report("usable_hydrated_1k", hydrated);
  report("usable_sort_1k", sorted);
}

async function keystroke(browser) {
  const { context, page } = await signedIn(browser, baseBig);
  await page.goto("/tokens");
  await page.waitForFunction(() => window.__hydratedAt !== undefined);
  const search = page.getByRole("searchbox", { name: "Search tokens by name" });
  const range = page.locator(".range");
  const all = await range.textContent();
  const [shown, untilSent, server, rendered] = [[], [], [], []];
  // Each round: an empty box, a pause longer than the typing pace, then one letter typed that only some names
  // have (the seeded names start with deploy, backup, monitor, ci, reseller, billing, dns or mail).
  const letters = ["k", "y", "g", "t", "m", "r", "d", "c", "a", "p"];
  for (let round = 0; round < rounds; round++) {
    const letter = letters[round % letters.length];
    await search.fill("");
    await page.waitForFunction((text) => document.querySelector(".range")?.textContent === text, all);
    await page.waitForTimeout(600);
    await page.evaluate(({ letter, all }) => {
      window.__typedAt = undefined;
      window.__shownAt = undefined;
      const box = document.querySelector("#token-search");
      box.addEventListener("keydown", () => (window.__typedAt = performance.now()), { once: true });
      // Shown: the count is no longer the whole list's, and every row on screen has the letter.
      new MutationObserver((_, observer) => {
        const rows = [...document.querySelectorAll("tbody tr[data-token]")];
        const range = document.querySelector(".range")?.textContent;
        if (range && range !== all && rows.length > 0 && rows.every((row) => row.dataset.token.includes(letter))) {
          window.__shownAt = performance.now();
          observer.disconnect();
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    }, { letter, all });
    await search.press(letter);
    await page.waitForFunction(() => window.__shownAt !== undefined, null, { polling: 5, timeout: 30_000 });
    const times = await page.evaluate(() => {
      // The list's server call that answered this keystroke: when it was sent and when its answer was in.
      const call = performance
        .getEntriesByType("resource")
        .filter((entry) => entry.name.includes("/rpc/") && entry.startTime >= window.__typedAt)
        .pop();
      return { typed: window.__typedAt, shown: window.__shownAt, sent: call?.startTime, answered: call?.responseEnd };
    });
    shown.push(times.shown - times.typed);
    if (times.sent !== undefined) {
      untilSent.push(times.sent - times.typed);
      server.push(times.answered - times.sent);
      rendered.push(times.shown - times.answered);
    }
  }
  await context.close();
  report("usable_keystroke_100k", shown);
  // Where that time goes: keystroke to the call sent, the call, its answer to the rows on screen.
  report("usable_keystroke_to_call", untilSent);
  report("usable_keystroke_call", server);
  report("usable_keystroke_render", rendered);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  try {
    await hydrationAndSort(browser);
    await keystroke(browser);
  } finally {
    await browser.close();
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
