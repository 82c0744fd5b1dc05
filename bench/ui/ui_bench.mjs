// bench/ui/ui_bench.mjs - measures the web UI's topology view against a 10,000-node /
// 20,000-edge synthetic topology published to a running analyzer (see run.sh).
//   node ui_bench.mjs --analyzer 127.0.0.1:A --url http://127.0.0.1:P/ [--hosts 50]
// Prints a table: first full view, updates at 1,000/s, pan frame time (ours vs bare sigma),
// elements drawn (default view, one host expanded), JS heap of the model.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { genTopology, connect, publish, addMessages, env } from './topo_gen.mjs';
import { TopologyModel } from '../../ui/src/model/topology.js';
import { Groups } from '../../ui/src/model/groups.js';
import { Layout } from '../../ui/src/model/layout.js';
import { nodeStyleForBench } from './style_shim.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(resolve(here, '../../ui/package.json'));
const puppeteer = require('puppeteer-core');
const esbuild = require('esbuild');

const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d; };
const analyzer = opt('--analyzer', '127.0.0.1:8082');
const url = opt('--url', `http://${analyzer}/`);
const hosts = Number(opt('--hosts', 50));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.floor(s.length / 2)] : NaN; };
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * p))] : NaN; };
const rows = [];
const row = (what, value, goal = '') => { rows.push([what, value, goal]); console.error(`  ${what}: ${value}`); };

// 1. publish
const topo = genTopology({ hosts });
const pub = await connect(`ws://${analyzer}/ws/publisher?x-host-id=bench&x-client-type=cli`);
let t = Date.now();
await publish(pub, addMessages(topo));
row('topology published', `${topo.Nodes.length} nodes / ${topo.Edges.length} edges in ${Date.now() - t} ms`);

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--enable-precise-memory-info',
    '--window-size=1400,900', '--disable-background-timer-throttling', '--disable-renderer-backgrounding'],
});
const newPage = async () => {
  const p = await browser.newPage();
  await p.setViewport({ width: 1400, height: 900 });
  p.on('pageerror', (e) => console.error('pageerror:', e.message));
  return p;
};

// Pans the camera of sigma instance expr for up to frames frames / ms; rAF intervals.
const panIn = (page, expr, frames = 40, ms = 12000) => page.evaluate(async (expr, frames, ms) => {
  const sigma = eval(expr);
  const cam = sigma.getCamera();
  const times = [];
  await new Promise((res) => requestAnimationFrame(res));
  const t0 = performance.now();
  let last = t0, i = 0;
  await new Promise((res) => {
    const step = () => {
      const now = performance.now();
      if (i > 0) times.push(now - last);
      last = now;
      if (i++ >= frames || now - t0 > ms) { res(); return; }
      const s = cam.getState();
      cam.setState({ x: s.x + 0.003 * Math.cos(i / 8), y: s.y + 0.003 * Math.sin(i / 8) });
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  });
  return times;
}, expr, frames, ms);

const gcHeap = async (page) => {
  const c = await page.createCDPSession();
  await c.send('HeapProfiler.collectGarbage');
  await c.send('HeapProfiler.collectGarbage');
  const { usedSize } = await c.send('Runtime.getHeapUsage');
  await c.detach();
  return usedSize;
};

// 2. first full view (3 loads)
const fv = [];
let page;
for (let i = 0; i < 3; i++) {
  if (page) await page.close();
  page = await newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.__skydive && window.__skydive.firstView, { timeout: 60000, polling: 50 });
  fv.push(await page.evaluate(() => {
    const sync = performance.getEntriesByName('skydive-sync-applied')[0];
    return { first: window.__skydive.firstView, sync: sync ? sync.startTime : NaN, n: window.__skydive.model.nodes.size };
  }));
}
row('first full view (page load -> sync parsed, model, layout, drawn)', `${med(fv.map((x) => x.first)).toFixed(0)} ms median of 3 (${fv.map((x) => x.first.toFixed(0)).join(', ')}); sync applied at ${med(fv.map((x) => x.sync)).toFixed(0)} ms; model ${fv[0].n} nodes`, '< 3000 ms');

// 3. elements drawn
const drawn = () => page.evaluate(() => { const v = window.__skydive.view; v.flush(); return { n: v.graph.order, e: v.graph.size }; });
const d0 = await drawn();
row('drawn, default view (hosts, namespaces collapsed)', `${d0.n} nodes + ${d0.e} edges = ${d0.n + d0.e}`, 'a few hundred');
const ex = await page.evaluate(() => {
  const v = window.__skydive.view;
  const t0 = performance.now();
  v.expand('host-007');
  return { ms: performance.now() - t0, holds: v.groups.childrenOf('host-007').length };
});
const d1 = await drawn();
row('drawn, host-007 expanded', `${d1.n} nodes + ${d1.e} edges (+${d1.n - d0.n} nodes, +${d1.e - d0.e} edges; host holds ${ex.holds} children) in ${ex.ms.toFixed(1)} ms`);
await page.evaluate(() => window.__skydive.view.collapse('host-007'));

// 4. 1,000 updates/s for 3 s
await page.evaluate(() => {
  const w = window;
  w.__lat = []; w.__pendingT = [];
  w.__skydive.model.on((ev) => { const b = ev.node && ev.node.Metadata.BenchT; if (b) w.__pendingT.push(b); });
  w.__skydive.view.onFlush(() => { const now = Date.now(); for (const b of w.__pendingT) w.__lat.push(now - b); w.__pendingT = []; });
  w.__posBefore = [...w.__skydive.view.layout.pos].map(([k, p]) => [k, p.x, p.y]);
  w.__statsBefore = { ...w.__skydive.view.stats };
});
const ids = topo.Nodes.map((n) => n.ID);
const byId = new Map(topo.Nodes.map((n) => [n.ID, n]));
const rate = 1000, secs = 3;
t = Date.now();
let sent = 0;
for (let tick = 0; tick < secs * 20; tick++) {
  const batch = [];
  for (let k = 0; k < rate / 20; k++) {
    const n = byId.get(ids[(sent * 7919) % ids.length]);
    batch.push(JSON.stringify(env('NodeUpdated', { ...n, Metadata: { ...n.Metadata, RxPackets: sent, BenchT: Date.now() } })));
    sent++;
  }
  for (const m of batch) pub.send(m);
  const next = t + (tick + 1) * 50;
  await sleep(Math.max(0, next - Date.now()));
}
await publish(pub, []);
await sleep(1500);
const up = await page.evaluate(() => {
  const v = window.__skydive.view;
  const moved = window.__posBefore.filter(([k, x, y]) => { const p = v.layout.get(k); return !p || p.x !== x || p.y !== y; }).length;
  return { lat: window.__lat, moved,
    flushes: v.stats.flushes - window.__statsBefore.flushes, maxFlush: v.stats.maxFlushMs };
});
row('updates: 1,000 NodeUpdated/s for 3 s, publish -> drawn', `${up.lat.length}/${sent} shown; latency p50 ${med(up.lat)} ms, p99 ${pct(up.lat, 0.99)} ms, max ${Math.max(...up.lat)} ms; ${up.flushes} batched flushes (max ${up.maxFlush.toFixed(1)} ms); nodes moved: ${up.moved}`, '< 1000 ms, no relayout');

// 5. heap of the model
const heapFull = await gcHeap(page);
const mem = await page.evaluate(() => ({ n: window.__skydive.model.nodes.size }));

// 6. pan: ours default, ours all expanded, bare sigma same graph
const panDefault = await panIn(page, 'window.__skydive.view.sigma', 40, 8000);
await page.evaluate(() => { const v = window.__skydive.view; v.groups.setAll(true); v.flush(); v.fit(); });
const dAll = await drawn();
await sleep(1000);
const panAll = await panIn(page, 'window.__skydive.view.sigma', 20, 15000);
// the same graph with our layout's positions, bare.
const m = new TopologyModel(); m.reset(genTopology({ hosts }));
const g = new Groups(m); g.setAll(true); const l = new Layout(g); l.place(g.visibleNodeIds());
const bareData = {
  nodes: g.visibleNodeIds().map((id) => { const p = l.get(id); const s = nodeStyleForBench(g.visibleNode(id)); return [id, p.x, p.y, s.size, s.color, s.label]; }),
  edges: topo.Edges.map((e) => [e.Parent, e.Child]),
};
const bundle = await esbuild.build({ entryPoints: [resolve(here, 'bare.js')], bundle: true, write: false, format: 'iife', minify: true, logLevel: 'error', nodePaths: [resolve(here, '../../ui/node_modules')] });
const bare = await newPage();
await bare.setContent('<html><body style="margin:0"><div id="c" style="width:1400px;height:854px"></div></body></html>');
await bare.evaluate((d) => { window.__bareData = d; }, bareData);
await bare.addScriptTag({ content: bundle.outputFiles[0].text });
await bare.waitForFunction(() => window.__bareReady, { timeout: 60000 });
await sleep(1000);
const panBare = await panIn(bare, 'window.__bare', 20, 15000);
const f = (a) => `${med(a).toFixed(0)} ms/frame (${(1000 / med(a)).toFixed(1)} fps, ${a.length} frames)`;
row('pan, bare sigma, same 10k/20k graph', f(panBare));
row('pan, our UI, everything expanded', `${f(panAll)}, ${dAll.n} nodes + ${dAll.e} edges drawn; ratio to bare ${(med(panAll) / med(panBare)).toFixed(2)}x`, '<= 1.5x');
row('pan, our UI, default view', `${f(panDefault)}; ratio to bare ${(med(panDefault) / med(panBare)).toFixed(2)}x`);

// heap: what the page holds with the model, then without it (model emptied, GC)
await page.evaluate(() => { window.__skydive.model.reset({}); window.__skydive.view.flush(); });
const heapEmpty = await gcHeap(page);
row('JS heap of the page / of the 10k model', `${(heapFull / 1048576).toFixed(1)} MiB with ${mem.n} nodes; model + groups + drawn graph ≈ ${((heapFull - heapEmpty) / 1048576).toFixed(1)} MiB (heap after emptying the model: ${(heapEmpty / 1048576).toFixed(1)} MiB)`);

await browser.close();
pub.close();
const w0 = Math.max(...rows.map((r) => r[0].length)), w1 = Math.min(110, Math.max(...rows.map((r) => String(r[1]).length)));
console.log(`\n${'measure'.padEnd(w0)} | ${'value'.padEnd(w1)} | goal`);
console.log(`${'-'.repeat(w0)}-|-${'-'.repeat(w1)}-|-----`);
for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)} | ${String(b).padEnd(w1)} | ${c}`);
