#!/bin/bash
# skydive_ui.sh - Skydive's own published web UI (npm @skydive-project/skydive-ui 0.1.8,
# pinned in ui/package-lock.json) deployed on another origin and pointed at our analyzer,
# as issue 8 promises a user migrating from Skydive: its login, its WebSocket subscription
# and its REST calls must work (ui/e2e/skydive-ui.mjs drives it in headless Chromium).
# The analyzer allows that origin through http.cors.allowed_origins. Loopback only.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
SHOTS=$root/build/ui-test/skydive-ui-$(basename "$(dirname "$SKYDIVE")")
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { ko setup "$CHROMIUM missing (scripts/install-deps.sh installs it)"; finish; }
[ -d "$root/ui/node_modules/@skydive-project/skydive-ui/dist" ] ||
	{ ko setup "ui/node_modules/@skydive-project/skydive-ui missing: run make (npm ci in ui/)"; finish; }
rm -rf "$SHOTS"; mkdir -p "$SHOTS"

PORT=$(free_port)
UI_PORT=$(free_port)
# The UI's origin is allowed by name, as a deployment would configure it.
cat >"$tmp/cors.yml" <<YML
http:
  cors:
    allowed_origins: ["http://127.0.0.1:$UI_PORT"]
YML
SKYDIVE_ANALYZER_DATA_DIR=$tmp/data "$SKYDIVE" analyzer -c "$tmp/cors.yml" --listen "127.0.0.1:$PORT" \
	2>"$tmp/analyzer.log" &
pids+=($!)
wait_api "$PORT" || { ko analyzer-up "$(tail -c 300 "$tmp/analyzer.log")"; finish; }
SKYDIVE_ANALYZERS=127.0.0.1:$PORT "$SKYDIVE" client topology import \
	--file "$root/tests/integration/data/topology.json" >"$tmp/import.log" 2>&1 ||
	{ ko import "$(cat "$tmp/import.log")"; finish; }
host=$(curl -s -XPOST "http://127.0.0.1:$PORT/api/topology" \
	-d '{"GremlinQuery":"G.V().Has(\"Type\",\"host\").Values(\"Name\")"}' | jq -r '.[0]')
[ -n "$host" ] && [ "$host" != null ] || { ko topology "no host node in the imported topology"; finish; }

API="http://127.0.0.1:$PORT" UI_PORT=$UI_PORT SHOTS="$SHOTS" HOSTNAME_EXPECTED="$host" CHROMIUM="$CHROMIUM" HOME="$tmp" \
	node "$root/ui/e2e/skydive-ui.mjs" >"$tmp/drive.out" 2>&1
cat "$tmp/drive.out"
last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$tmp/drive.out" | tail -1)
p=$(echo "$last" | grep -oE '^[0-9]+'); f=$(echo "$last" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
[ -z "$last" ] && ko driver "no summary from skydive-ui.mjs"
stop_all
[ -z "$bad_exit" ] && ok "clean-exit (analyzer)" || ko clean-exit "exit status$bad_exit"
grep -qE 'Sanitizer|runtime error' "$tmp/analyzer.log" && ko sanitizer "$(grep -m3 -E 'Sanitizer|runtime error' "$tmp/analyzer.log")"
[ "$fail" != 0 ] && { echo "--- analyzer log"; tail -15 "$tmp/analyzer.log"; echo "screenshots: $SHOTS"; }
finish
