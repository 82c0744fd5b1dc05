// dev-server.mjs - for UI development only: serves the built UI ($UI_OUT, default
// ../build/ui) and passes /api, /login and /ws (WebSocket upgrades included) to an
// analyzer, so the UI can be reloaded without rebuilding the analyzer.
//   node dev-server.mjs [--port 8090] [--analyzer 127.0.0.1:8082]
import http from 'node:http';
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import { resolve, dirname, extname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
if (args.includes('--help') || args.includes('-h')) {
  console.log('usage: node dev-server.mjs [--port 8090] [--analyzer HOST:PORT] (serves $UI_OUT)');
  process.exit(0);
}
const port = Number(opt('--port', 8090));
const [ahost, aport] = opt('--analyzer', '127.0.0.1:8082').split(':');
const root = resolve(here, process.env.UI_OUT || '../build/ui');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
const proxied = (url) => /^\/(api|login|ws)(\/|$|\?)/.test(url);

const server = http.createServer(async (req, res) => {
  if (proxied(req.url)) {
    const up = http.request({ host: ahost, port: aport, method: req.method, path: req.url, headers: req.headers },
      (ur) => { res.writeHead(ur.statusCode, ur.headers); ur.pipe(res); });
    up.on('error', (e) => { res.writeHead(502); res.end(`analyzer ${ahost}:${aport}: ${e.message}`); });
    req.pipe(up);
    return;
  }
  let p = decodeURIComponent(req.url.split('?')[0]).replace(/^\/ui(\/|$)/, '/');
  p = normalize(p).replace(/^(\.\.[/\\])+/, '');
  let file = resolve(root, '.' + p);
  if (!extname(file)) file = resolve(root, 'index.html'); // client-side routes
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'Content-Type': types[extname(file)] || 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404); res.end('not found');
  }
});
server.on('upgrade', (req, sock, head) => {
  const up = net.connect(Number(aport), ahost, () => {
    up.write(`${req.method} ${req.url} HTTP/1.1\r\n` +
      Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n') + '\r\n\r\n');
    up.write(head);
    up.pipe(sock); sock.pipe(up);
  });
  up.on('error', () => sock.destroy());
  sock.on('error', () => up.destroy());
});
server.listen(port, '127.0.0.1', () => console.log(`ui dev server on http://127.0.0.1:${port}/ -> analyzer ${ahost}:${aport}, files ${root}`));
