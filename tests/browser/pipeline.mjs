// The pipeline board in a real browser (the installed Chromium, driven by
// playwright-core): a card dragged to another column is saved and stays there
// after a reload; a refused save puts the card back and says why; the same move
// works with JavaScript off, through the card's form. Screenshots go to
// $SHOTS (the board, and the board after the moves).
//
// Run by scripts/browser-tests.sh, which starts a seeded server and sets BASE.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";

const base = process.env.BASE;
const shots = process.env.SHOTS || ".";
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--host-resolver-rules=MAP *.localhost 127.0.0.1"],
});

async function logIn(context) {
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill("#email", "admin@demo-1.test");
  await page.fill("#password", "demo-password");
  await Promise.all([page.waitForURL(`${base}/`), page.click("button[type=submit]")]);
  return page;
}

const column = (status) => `.board-column[data-status="${status}"]`;
const countOf = async (page, status) =>
  Number(await page.locator(`${column(status)} .board-count`).getAttribute("data-exact"));

try {
  // With JavaScript: drag and drop.
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await logIn(context);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(`${base}/pipeline`);
  await page.screenshot({ path: `${shots}/board.png` });
  const card = page.locator(`${column("new")} .board-card`).first();
  const [newBefore, wonBefore] = [await countOf(page, "new"), await countOf(page, "won")];
  // The card under the pointer when the drag starts is the one that moves.
  const saved = page.waitForResponse((r) => /\/leads\/\d+\/status$/.test(r.url()));
  await card.dragTo(page.locator(`${column("won")} .board-cards`));
  const response = await saved;
  const lead = response.url().match(/\/leads\/(\d+)\/status$/)[1];
  assert.equal(response.status(), 200, "the move was saved");
  assert.equal(await page.locator(`${column("won")} [data-lead="${lead}"]`).count(), 1);
  assert.equal(await countOf(page, "new"), newBefore - 1, "it came from new");
  assert.equal(await countOf(page, "won"), wonBefore + 1);
  await page.reload();
  assert.equal(await page.locator(`${column("won")} [data-lead="${lead}"]`).count(), 1, "saved: still won after a reload");

  // A refused save (the form's CSRF token spoiled): the card goes back.
  const other = page.locator(`${column("new")} .board-card`).first();
  // Every card's form spoiled, so whichever card the pointer takes is refused.
  await page.locator("form.board-move input[name=csrf_token]").evaluateAll((inputs) => {
    for (const i of inputs) i.value = "spoiled";
  });
  const refused = page.waitForResponse((r) => /\/leads\/\d+\/status$/.test(r.url()));
  await other.dragTo(page.locator(`${column("lost")} .board-cards`));
  const answer = await refused;
  assert.equal(answer.status(), 403);
  const refusedLead = answer.url().match(/\/leads\/(\d+)\/status$/)[1];
  await page.locator("#board-error:not([hidden])").waitFor();
  assert.match(await page.locator("#board-error").innerText(), /Reload the page/);
  assert.equal(await page.locator(`${column("new")} [data-lead="${refusedLead}"]`).count(), 1, "back in its column");
  assert.equal(await page.locator(`${column("lost")} [data-lead="${refusedLead}"]`).count(), 0);
  await page.screenshot({ path: `${shots}/board-refused.png` });
  await page.reload();
  assert.equal(await page.locator(`${column("new")} [data-lead="${refusedLead}"]`).count(), 1, "not moved on the server");
  assert.deepEqual(errors.filter((e) => !e.includes("403")), [], "no script errors");

  // Without JavaScript: the card's form.
  const plain = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1600, height: 1000 } });
  const noJs = await logIn(plain);
  await noJs.goto(`${base}/pipeline`);
  const form = noJs.locator(`${column("new")} .board-card`).first();
  const formLead = await form.getAttribute("data-lead");
  await form.locator("select[name=status]").selectOption("proposal");
  await Promise.all([noJs.waitForURL(`${base}/pipeline`), form.locator("button", { hasText: "Move" }).click()]);
  assert.equal(await noJs.locator(`${column("proposal")} [data-lead="${formLead}"]`).count(), 1, "moved by the form");
  assert.match(await noJs.locator(".flash").innerText(), /moved to proposal/);
  await noJs.screenshot({ path: `${shots}/board-no-js.png` });
  console.log(`ok: dragged lead ${lead} to won, refused move of ${refusedLead} put back, moved ${formLead} without JavaScript`);
} finally {
  await browser.close();
}
