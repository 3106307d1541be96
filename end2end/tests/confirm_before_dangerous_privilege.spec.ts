// Journey: giving a token a dangerous privilege a while after signing in asks the person to confirm it is them
// (password or authenticator code), then creates the same token (issue 19, like GitHub's sudo mode). "A while"
// is made now by clearing the session's confirmation in the database, so this journey runs on a server of its own.
import { execFileSync } from "node:child_process";
import { allowConsoleError, expect, expectAccessible, OWN_ADMIN_PASSWORD, signInAt, startOwnServer, test, waitForHydration } from "./helpers";

test("a dangerous privilege long after signing in asks for the password, then the token is created", async ({ page }) => {
  allowConsoleError(/status of (403|422)/, "the stale session and the wrong password are refused on purpose, to show the prompts");
  const { base, databaseUrl, stop } = await startOwnServer();
  try {
    await signInAt(page, base, "admin", OWN_ADMIN_PASSWORD);
    // As if the sign-in were long ago.
    const file = databaseUrl.replace(/^sqlite:\/\//, "");
    execFileSync("python3", ["-c", "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute('UPDATE sessions SET confirmed_at = NULL'); db.commit()", file]);

    await page.goto(`${base}/tokens/new`);
    await waitForHydration(page);
    await page.getByRole("textbox", { name: "Name" }).fill("deploy-bot");
    await page.getByRole("button", { name: "Create", exact: true }).click();
    const confirm = page.getByRole("form", { name: "Confirm it is you" });
    await expect(confirm).toBeVisible();
    await expectAccessible(page, "the confirmation prompt");
    if (process.env.TESSERA_SCREENSHOT_DIR) {
      await confirm.screenshot({ path: `${process.env.TESSERA_SCREENSHOT_DIR}/confirm-identity.png` });
    }
    const proof = confirm.getByLabel("Password or authenticator code", { exact: true });
    await proof.fill("not-the-password");
    await confirm.getByRole("button", { name: "Confirm" }).click();
    await expect(confirm).toContainText("The password is not right.");
    await proof.fill(OWN_ADMIN_PASSWORD);
    await confirm.getByRole("button", { name: "Confirm" }).click();
    await expect(page.getByRole("heading", { name: "Your new API token" })).toBeVisible();
    await expect(confirm).toHaveCount(0);
  } finally {
    stop();
  }
});
