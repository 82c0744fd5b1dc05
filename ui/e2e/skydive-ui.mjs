// skydive-ui.mjs - Skydive's own published web UI (npm @skydive-project/skydive-ui, pinned
// in ui/package-lock.json, served as static files on ANOTHER origin) against our analyzer,
// as a user migrating would deploy it: sign in on its login screen with our analyzer as
// the endpoint (POST /login across origins), then its topology view must show our graph
// (its /ws/subscriber handshake without X-Host-ID, its REST calls with CORS).
// Started by tests/integration/skydive_ui.sh. env: API (analyzer URL), UI_PORT, SHOTS (dir),
// HOSTNAME_EXPECTED (a host node name the analyzer holds).
// One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
import puppeteer from 'puppeteer-core';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { resolve, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const DIST = resolve(here, '../node_modules/@skydive-project/skydive-ui/dist');
const API = process.env.API;
const SHOTS = process.env.SHOTS || '/tmp/skydive-ui-shots';
const HOST = process.env.HOSTNAME_EXPECTED || 'host1';
let pass = 0, fail = 0;
const ok = (n) => { console.log(`ok ${n}`); pass++; };
const ko = (n, why) => { console.log(`FAIL ${n}: ${String(why).slice(0, 400)}`); fail++; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The published UI's files on their own origin (a single-page app: unknown paths get
// index.html).
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.woff2': 'font/woff2', '.svg': 'image/svg+xml' };
const server = http.createServer(async (req, res) => {
  const p = decodeURIComponent(req.url.split('?')[0]).replace(/\.\.+/g, '');
  let file = join(DIST, p);
  if (!extname(file)) file = join(DIST, 'index.html');
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'Content-Type': types[extname(file)] || 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((r) => server.listen(Number(process.env.UI_PORT || 0), '127.0.0.1', r));
const UI = `http://127.0.0.1:${server.address().port}`;
console.log(`skydive-ui served on ${UI}, analyzer ${API}`);

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  defaultViewport: { width: 1400, height: 900 },
});
try {
  const page = await browser.newPage();
  const apiAnswers = [];
  page.on('response', (r) => { if (r.url().startsWith(API)) apiAnswers.push(`${r.status()} ${r.request().method()} ${r.url().slice(API.length)}`); });
  await page.goto(UI + '/', { waitUntil: 'networkidle2' });
  // As its README says: sign out (top-right menu) to pick another analyzer on the login screen.
  if (!(await page.$('#endpoint'))) {
    const btns = await page.$$('header button');
    if (btns.length) await btns[btns.length - 1].click();
    await sleep(400);
    for (const it of await page.$$('li[role=menuitem]')) {
      if (/logout/i.test(await it.evaluate((e) => e.textContent))) { await it.click(); break; }
    }
  }
  const login = await page.waitForSelector('#endpoint', { timeout: 8000 }).catch(() => null);
  await page.screenshot({ path: join(SHOTS, '1-skydive-ui-login.png') });
  if (login) ok('skydive-ui-login-screen'); else { ko('skydive-ui-login-screen', 'no endpoint field'); throw new Error('stop'); }
  const set = async (sel, v) => { await page.click(sel, { clickCount: 3 }); await page.keyboard.type(v); };
  await set('#endpoint', API);
  await set('input[name=username]', process.env.USERNAME_ || 'admin');
  await set('input[name=password]', process.env.PASSWORD_ || 'any');
  await page.keyboard.press('Enter');
  // Its topology draws node labels as SVG text: our host must appear.
  const drawn = await (async () => {
    const end = Date.now() + 15000;
    while (Date.now() < end) {
      const texts = await page.$$eval('svg text', (ts) => ts.map((t) => t.textContent)).catch(() => []);
      if (texts.includes(HOST)) return true;
      await sleep(300);
    }
    return false;
  })();
  await page.screenshot({ path: join(SHOTS, '2-skydive-ui-topology.png') });
  if (apiAnswers.some((a) => a.startsWith('200 POST /login'))) ok('skydive-ui-login (POST /login across origins)');
  else ko('skydive-ui-login', apiAnswers.join(', '));
  if (drawn) ok(`skydive-ui-topology (draws ${HOST} from our /ws/subscriber)`);
  else ko('skydive-ui-topology', `no ${HOST} label; API answers: ${apiAnswers.join(', ')}`);
  const refused = apiAnswers.filter((a) => /^[45]/.test(a));
  if (!refused.length) ok('skydive-ui-no-refused-calls'); else ko('skydive-ui-no-refused-calls', refused.join(', '));
} catch (e) {
  if (e.message !== 'stop') ko('skydive-ui', e.stack || e);
} finally {
  await browser.close();
  server.close();
}
console.log(`${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
