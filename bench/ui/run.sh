#!/bin/sh
# bench/ui/run.sh - the web UI benchmark (not a test): starts build/skydive analyzer on a
# free port with a temporary data dir, builds the UI, serves it (the analyzer itself when
# it serves the UI at /, else ui/dev-server.mjs in front of it), publishes a synthetic
# 10,000-node / 20,000-edge topology and measures the topology view in headless Chromium
# (SwiftShader WebGL). Prints a table.   usage: bench/ui/run.sh [hosts (50)]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
hosts=${1:-50}
tmp=$(mktemp -d /tmp/ui-bench.XXXXXX)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
[ -x "$root/build/skydive" ] || { echo "build/skydive missing: run make" >&2; exit 1; }
[ -d "$root/ui/node_modules" ] || (cd "$root/ui" && npm ci --silent)
(cd "$root/ui" && UI_OUT="$tmp/ui" node build.mjs >/dev/null)
ap=$(free_port)
(cd "$tmp" && SKYDIVE_ANALYZER_LISTEN=127.0.0.1:$ap exec "$root/build/skydive" analyzer --listen 127.0.0.1:$ap >"$tmp/analyzer.log" 2>&1) &
pids="$pids $!"
for i in $(seq 50); do curl -sf "http://127.0.0.1:$ap/api/status" >/dev/null 2>&1 && break; sleep 0.1; done
if curl -sf "http://127.0.0.1:$ap/" 2>/dev/null | grep -q 'app.js'; then
  url="http://127.0.0.1:$ap/"
else
  up=$(free_port)
  (cd "$root/ui" && UI_OUT="$tmp/ui" exec node dev-server.mjs --port "$up" --analyzer "127.0.0.1:$ap" >"$tmp/dev.log" 2>&1) &
  pids="$pids $!"
  for i in $(seq 50); do curl -sf "http://127.0.0.1:$up/" >/dev/null 2>&1 && break; sleep 0.1; done
  url="http://127.0.0.1:$up/"
fi
echo "analyzer 127.0.0.1:$ap, UI $url" >&2
node "$here/ui_bench.mjs" --analyzer "127.0.0.1:$ap" --url "$url" --hosts "$hosts"
