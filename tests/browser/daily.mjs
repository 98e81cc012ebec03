// The daily tools in a real browser (the installed Chromium, driven by
// playwright-core): tasks added on a lead's page and finished from /tasks, the
// dashboard's tasks and charts, a bulk change from the list, and an import
// previewed, committed and undone. Screenshots go to $SHOTS: tasks.png,
// dashboard.png, lead-tasks.png, bulk-delete.png, import-preview.png,
// imports.png.
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
const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const flash = (page) => page.locator(".flash").first().textContent();

try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // The refused form below is a 422 by design; Chromium logs every 4xx load.
  page.on("console", (m) => m.type() === "error" && !/Failed to load resource/.test(m.text()) && errors.push(m.text()));
  await page.goto(`${base}/login`);
  await page.fill("#email", "admin@demo-1.test");
  await page.fill("#password", "demo-password");
  await Promise.all([page.waitForURL(`${base}/`), page.click("button[type=submit]")]);

  // Two tasks on lead 1: one overdue, one for today.
  await page.goto(`${base}/leads/1`);
  for (const [title, due] of [["Call back about the renewal", day(-2)], ["Send the revised quote", day(0)]]) {
    await page.fill("#task-title", title);
    await page.fill("#task-due", due);
    await Promise.all([page.waitForURL(/\/leads\/1(#tasks)?$/), page.click("#tasks button:text('Add task')")]);
    assert.match(await flash(page), /Task added/);
  }
  // A blank title is refused and the date kept.
  await page.fill("#task-title", "");
  await page.fill("#task-due", day(5));
  await page.click("#tasks button:text('Add task')");
  assert.match(await page.locator("#task-title-error").textContent(), /Say what is to be done/);
  assert.equal(await page.inputValue("#task-due"), day(5));
  await page.goto(`${base}/leads/1`);
  assert.match(await page.locator(".card:has(h2:text('Activity'))").textContent(), /Added a task: Send the revised quote/);
  await page.locator("#tasks").screenshot({ path: `${shots}/lead-tasks.png` });

  // /tasks: overdue first; Done takes it off.
  await page.goto(`${base}/tasks`);
  const text = await page.locator("main").textContent();
  assert.ok(text.indexOf("Overdue") < text.indexOf("Call back about the renewal"));
  assert.ok(text.indexOf("Call back about the renewal") < text.indexOf("Due today"));
  await page.screenshot({ path: `${shots}/tasks.png`, fullPage: true });
  await Promise.all([
    page.waitForURL(`${base}/tasks`),
    page.click(".task-overdue button:text('Done')"),
  ]);
  assert.match(await flash(page), /Done: .Call back about the renewal/);
  assert.equal(await page.locator(".task-overdue").count(), 0);

  // The dashboard: today's task, and two charts with their titles.
  await page.goto(`${base}/`);
  assert.match(await page.locator("#my-tasks").textContent(), /Send the revised quote/);
  assert.equal(await page.locator("svg[role=img]").count(), 2);
  for (const svg of await page.locator("svg[role=img]").all()) {
    assert.ok((await svg.locator("title").first().textContent()).length > 0);
  }
  await page.screenshot({ path: `${shots}/dashboard.png`, fullPage: true });

  // Bulk: select the whole page (the header's checkbox, and without
  // JavaScript the link), give it a status; then delete two, confirmed.
  await page.goto(`${base}/leads`);
  await page.check("#select-page");
  const boxes = page.locator("input[name=lead_ids]");
  assert.equal(await page.locator("input[name=lead_ids]:checked").count(), await boxes.count());
  await boxes.nth(0).uncheck();
  assert.equal(await page.locator("#select-page").evaluate((e) => e.indeterminate), true);
  await page.goto(`${base}/leads?select=page`);
  const rows = await page.locator("input[name=lead_ids]:checked").count();
  assert.ok(rows > 1, "every row ticked");
  assert.equal(await page.locator("#select-page").isChecked(), true);
  await page.selectOption("#bulk-action", "status");
  await page.selectOption("#bulk-status", "qualified");
  await Promise.all([page.waitForURL(/\/leads/), page.click("#bulk button:text('Apply to selected')")]);
  assert.match(await flash(page), /moved to qualified/);
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  await page.selectOption("#bulk-action", "delete");
  await page.click("#bulk button:text('Apply to selected')");
  assert.match(await page.locator("h1").textContent(), /Delete 2 leads\?/);
  await page.screenshot({ path: `${shots}/bulk-delete.png` });
  await Promise.all([page.waitForURL(/\/leads/), page.click("button.danger")]);
  assert.match(await flash(page), /2 leads deleted/);

  // An import that updates one lead and adds one: previewed, committed, undone.
  await page.goto(`${base}/leads?sort=name`);
  await page.goto(`${base}/leads/3`);
  const email = (await page.locator("dt:text('Email') + dd").textContent()).trim();
  assert.ok(email.includes("@"), "lead 3 has an email");
  await page.goto(`${base}/leads/import`);
  await page.fill("#csv", `name,email,value\nRenamed By Import,${email},\nBrand New Lead,brand.new@example.com,99\n`);
  await page.check("input[name=on_duplicate][value=update]");
  await page.click("button:text('Preview')");
  const preview = await page.locator("#preview").textContent();
  assert.match(preview, /New leads\s*1/);
  assert.match(preview, /Updated\s*1/);
  await page.screenshot({ path: `${shots}/import-preview.png`, fullPage: true });
  await Promise.all([page.waitForURL(`${base}/leads/imports`), page.click("#preview button:text('Import')")]);
  assert.match(await flash(page), /Imported 1 lead\(s\), updated 1/);
  await page.screenshot({ path: `${shots}/imports.png` });
  await Promise.all([page.waitForURL(`${base}/leads/imports`), page.click("button:text('Undo')")]);
  assert.match(await flash(page), /Import undone: 1 lead\(s\) deleted, 1 restored/);
  await page.goto(`${base}/leads/3`);
  assert.doesNotMatch(await page.locator("h1").textContent(), /Renamed By Import/);

  assert.deepEqual(errors, [], "no script errors");
  console.log("ok: tasks, dashboard, bulk changes and an undone import in Chromium");
} finally {
  await browser.close();
}
