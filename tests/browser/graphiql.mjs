// GraphiQL as a person uses it, in headless Chromium, against a running development server:
// the page loads with nothing fetched from elsewhere, a query typed into the editor returns
// data, and the documentation panel lists the schema's types.
//
//   node tests/browser/graphiql.mjs http://127.0.0.1:8000 [screenshot.png]
import { chromium } from "playwright-core";
import { check, finish } from "./checks.mjs";

const base = process.argv[2];
const shot = process.argv[3];
if (!base) {
  console.error("usage: node graphiql.mjs BASE_URL [screenshot.png]");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage();
  const host = new URL(base).host;
  const elsewhere = [];
  const errors = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.protocol.startsWith("http") && u.host !== host) elsewhere.push(r.url());
  });
  page.on("pageerror", (e) => errors.push(String(e)));

  await page.goto(`${base}/`, { waitUntil: "load" });
  await page.waitForSelector(".graphiql-container", { timeout: 30000 });
  check(true, "the page loads GraphiQL");

  // Type a query the way a person does: click, select all, type over it, run.
  const editor = page.locator(".graphiql-query-editor .CodeMirror").first();
  await editor.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Backspace");
  await page.keyboard.type("{ streets(first: 5) { nodes { name communities { name } } } }", { delay: 5 });
  await page.keyboard.press("Escape");
  await page.locator(".graphiql-execute-button").click();
  const response = page.locator(".graphiql-response");
  await response.getByText("九棵树街道").first().waitFor({ timeout: 20000 });
  check((await response.innerText()).includes("新城嘉园"), "a typed query returns the demo street and its communities");

  // The documentation panel shows the schema's types.
  await page.getByRole("button", { name: /documentation explorer/i }).click();
  const docs = page.locator(".graphiql-doc-explorer");
  await docs.getByText("QueryRoot").first().waitFor({ timeout: 20000 });
  await docs.getByText("QueryRoot").first().click();
  await docs.getByText("merchants", { exact: false }).first().waitFor({ timeout: 20000 });
  check(true, "the documentation panel shows the root type and its fields");

  if (shot) await page.screenshot({ path: shot, fullPage: true });
  check(elsewhere.length === 0, `nothing is fetched from elsewhere ${JSON.stringify(elsewhere)}`);
  check(errors.length === 0, `no script errors ${JSON.stringify(errors)}`);
} catch (e) {
  check(false, `browser session: ${e.message}`);
} finally {
  await browser.close();
}
finish();
