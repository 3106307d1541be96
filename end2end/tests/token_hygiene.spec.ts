// Journey (issue 14): the tokens page warns of a token about to expire (with Rotate one click away and a link to
// the list of them) and of a leaked token that a secret scanner reported and Tessera revoked; the owner dismisses
// the notice and sets the contact e-mail where such warnings go.
import { allowConsoleError, createToken, expect, expectAccessible, isoDate, newAccount, PASSWORD, signIn, test, waitForHydration } from "./helpers";

test("expiring and leaked tokens are shown on the tokens page, and the owner sets a contact e-mail", async ({ page, request }) => {
  allowConsoleError(/status of 422/, "an invalid e-mail address is refused on purpose, to show the field's error");
  const account = newAccount("hygiene");
  const soon = isoDate(new Date(Date.now() + 3 * 86_400_000));
  createToken(account, "expiring-soon", ["--expires", soon]);
  createToken(account, "long-lived", ["--expires", "never"]);
  const leaked = createToken(account, "leaky", ["--expires", "never"]);
  const url = "https://github.com/example/repo/blob/main/.env";

  // A secret scanner reports the leaked secret, in GitHub's format: revoked within the request.
  const report = await request.post("/api/v1/leaks", {
    data: [{ token: leaked, type: "tessera_api_token", url, source: "content" }],
  });
  expect(report.status()).toBe(200);
  expect(await report.json()).toEqual([{ token_raw: leaked, token_type: "tessera_api_token", label: "true_positive" }]);

  await signIn(page, account, PASSWORD);
  const leak = page.locator(".banner-danger");
  await expect(leak).toContainText("API token “leaky” was found in public");
  await expect(leak.getByRole("link", { name: url })).toHaveAttribute("href", url);
  const expiring = page.locator(".banner-warning");
  await expect(expiring).toContainText("1 token expires within 7 days");
  await expect(expiring.locator("li")).toContainText("expiring-soon");
  await expect(page.locator("tbody tr")).toHaveCount(2);
  await expectAccessible(page, "tokens page with notices");
  if (process.env.TESSERA_SCREENSHOT_DIR) {
    await page.screenshot({ path: `${process.env.TESSERA_SCREENSHOT_DIR}/token-notices.png`, fullPage: true });
  }

  // The banner's title lists just those tokens; "Show all tokens" goes back. It leads to another page than this
  // one, so it is not marked as the current page (the router's `A` marked it, its path being this page's).
  const listLink = expiring.getByRole("link", { name: "1 token expires within 7 days" });
  await expect(listLink).not.toHaveAttribute("aria-current", /.*/);
  await expect(page.locator("tbody tr a[aria-current]")).toHaveCount(0);
  await listLink.click();
  await expect(page).toHaveURL(/\/tokens\?expiring=true$/);
  await expect(page.locator("tbody tr")).toHaveCount(1);
  await expect(page.locator("tbody tr")).toContainText("expiring-soon");
  await expect(page.locator(".filter-note")).toContainText("Showing the tokens that expire within 7 days.");
  await page.getByRole("button", { name: "Show all tokens" }).click();
  await expect(page).toHaveURL(/\/tokens$/);
  await expect(page.locator("tbody tr")).toHaveCount(2);

  // Rotate is one click from the banner.
  await page.locator(".banner-warning").getByRole("link", { name: "Rotate expiring-soon" }).click();
  await expect(page).toHaveURL(/\/tokens\/manage\/expiring-soon#rotate$/);
  await expect(page.getByRole("region", { name: "Rotate" })).toBeVisible();

  // Dismissed, the leak notice goes, and stays gone.
  await page.goto("/tokens");
  await waitForHydration(page);
  await page.locator(".banner-danger").getByRole("button", { name: "Dismiss" }).click();
  await expect(page.locator(".banner-danger")).toHaveCount(0);
  await page.reload();
  await waitForHydration(page);
  await expect(page.locator(".banner-warning")).toBeVisible();
  await expect(page.locator(".banner-danger")).toHaveCount(0);

  // The contact e-mail: checked, saved, shown again after a reload.
  await page.getByRole("link", { name: "Account", exact: true }).click();
  await expect(page).toHaveURL(/\/account$/);
  const email = page.getByLabel("E-mail address");
  await email.fill("not-an-address");
  await page.getByRole("button", { name: "Save e-mail" }).click();
  await expect(page.locator("#contact-email-error")).toContainText("is not an e-mail address");
  await expect(email).toHaveAttribute("aria-invalid", "true");
  await email.fill("ops@example.com");
  await page.getByRole("button", { name: "Save e-mail" }).click();
  await expect(page.getByRole("status").getByText("Warnings and notices now go to ops@example.com.")).toBeVisible();
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByLabel("E-mail address")).toHaveValue("ops@example.com");
});
