// An accessibility audit with axe-core (a library no one here wrote) in the
// installed Chromium: the public pages and every page of a logged-in admin,
// including an empty search (whose pager has disabled links). Any violation
// fails the run and is printed with the elements it names.
//
// Run by scripts/browser-tests.sh, which starts a seeded server and sets BASE
// and APEX.
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const axe = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const base = process.env.BASE;
const apex = process.env.APEX;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--host-resolver-rules=MAP *.localhost 127.0.0.1"],
});
// The audit's script is injected inline: only the test's browser lifts the CSP.
const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
const failures = [];

async function audit(url) {
  await page.goto(url);
  await page.addScriptTag({ content: axe });
  const result = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ["violations"] }));
  for (const v of result.violations) {
    failures.push(`${url}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  }
}

try {
  for (const path of ["/", "/signup", "/find"]) await audit(`${apex}${path}`);
  await audit(`${base}/login`);
  await page.fill("#email", "admin@demo-1.test");
  await page.fill("#password", "demo-password");
  await Promise.all([page.waitForURL(`${base}/`), page.click("button[type=submit]")]);
  for (const path of [
    "/", "/leads", "/leads?q=zz", "/leads/1", "/leads/new", "/leads/1/edit", "/leads/import",
    "/companies", "/companies/1", "/companies/new", "/pipeline", "/team", "/account",
    "/settings", "/settings/api", "/settings/usage", "/settings/audit",
    "/tasks", "/leads/imports",
  ]) {
    await audit(`${base}${path}`);
  }
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log("ok: axe-core found no violations on 23 pages");
