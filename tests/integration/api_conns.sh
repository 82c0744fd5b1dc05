#!/bin/bash
# api_conns.sh - the analyzer's connection limits (issue 9, docs/API.md "Limits"):
# 2,000 idle TCP connections keep its memory bounded and it still answers; beyond
# http.max_connections a connection is refused (503, closed) and counted in /api/status
# "Connections"; a slowloris client (one header byte per second), an idle connection and
# an idle keep-alive connection are closed by http.header_timeout / http.keepalive_timeout.
# Checked by outcome (an answer, an EOF, memory), never by a tight timing. 127.0.0.1 only.
set -u
. "$(dirname "$0")/lib/harness.sh"
export SKYDIVE_ANALYZER_ALLOW_ROOT=true # the suite runs as root; the analyzer refuses it otherwise
N=2000
# each connection is one descriptor here and one in the analyzer (which inherits the limit)
[ "$(ulimit -n)" -ge $((N + 500)) ] || ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# start NAME PORT [VAR=value...]: an analyzer on 127.0.0.1:PORT, its pid in $apid
start() {
	local name=$1 port=$2; shift 2
	env SKYDIVE_ANALYZER_DATA_DIR="$tmp/data-$name" "$@" \
		"$SKYDIVE" analyzer --listen "127.0.0.1:$port" 2>"$tmp/$name.log" &
	apid=$!
	pids+=("$apid")
	if ! wait_api "$port"; then
		ko "start_$name" "the analyzer did not answer: $(head -c 400 "$tmp/$name.log")"
		finish
	fi
	ok "start_$name"
}
conns() { curl -s "http://127.0.0.1:$1/api/status" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["Connections"]["'"$2"'"])' 2>/dev/null; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# ---- 1. 2,000 idle connections with the defaults ------------------------------------
if [ "$(ulimit -n)" -lt $((N + 500)) ]; then
	ko idle_fd_limit "ulimit -n is $(ulimit -n) and cannot be raised to $((N + 500))"
	finish
fi
P1=$(free_port)
start defaults "$P1"
check status_connections_max "Connections.Max is '$(conns "$P1" Max)', not the default 4096" \
	test "$(conns "$P1" Max)" = 4096
before=$(rss_kb "$apid")
# Opens N connections that send nothing, then (all still open) GET /api on a new one, the
# analyzer's RSS and Connections.Current; then closes them. Prints "key value" lines.
"$PYTHON" - "$P1" "$N" "$apid" >"$tmp/idle" 2>&1 <<'EOF'
import json, socket, sys, time, urllib.request
port, n, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    socks.append(s)
time.sleep(1)  # let the analyzer accept them all (its listen backlog is smaller than n)
try:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=10).read()
    print("api", "ok" if b"Version" in body else "bad")
    st = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=10))
    print("current", st["Connections"]["Current"])
except Exception as e:
    print("api", "error", repr(e))
for line in open(f"/proc/{pid}/status"):
    if line.startswith("VmRSS:"):
        print("rss", line.split()[1])
# still open? (a connection the analyzer already closed reads EOF at once)
alive = 0
for s in socks:
    s.setblocking(False)
    try:
        alive += s.recv(1) != b""
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
print("alive", alive)
for s in socks:
    s.close()
EOF
val() { awk -v k="$1" '$1 == k {print $2}' "$tmp/idle"; }
rss=$(val rss)
echo "# $N idle connections: analyzer RSS ${before:-?} kB before, ${rss:-?} kB with them open" \
	"($(val alive) still open when measured, Connections.Current $(val current))"
check idle_api_answers "GET /api with $N idle connections: $(head -c 400 "$tmp/idle")" \
	test "$(val api)" = ok
check idle_counted "Connections.Current with $N open: '$(val current)'" \
	test "$(val current)" -ge "$N"
check idle_rss_bounded "RSS ${rss:-?} kB with $N idle connections (bound 200 MB)" \
	test "${rss:-999999999}" -lt 204800
# closed by the client: uncounted (the counter does not leak)
for _ in $(seq 1 50); do [ "$(conns "$P1" Current)" -le 2 ] 2>/dev/null && break; sleep 0.1; done
check idle_uncounted "Connections.Current after closing them: '$(conns "$P1" Current)'" \
	test "$(conns "$P1" Current)" -le 2
check idle_none_refused "Connections.Refused: '$(conns "$P1" Refused)'" test "$(conns "$P1" Refused)" = 0

# ---- 2. a small http.max_connections, short timeouts -----------------------------
P2=$(free_port)
start small "$P2" SKYDIVE_HTTP_MAX_CONNECTIONS=50 SKYDIVE_HTTP_HEADER_TIMEOUT=3 \
	SKYDIVE_HTTP_KEEPALIVE_TIMEOUT=2
# 50 idle connections take every place: the 51st gets a 503 and is closed; then, the 50
# closed, GET /api from a new connection works.
"$PYTHON" - "$P2" >"$tmp/max" 2>&1 <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(50)]
time.sleep(0.5)
x = socket.create_connection(("127.0.0.1", port), timeout=5)
got = b""
try:
    while True:
        d = x.recv(4096)
        if not d:
            break
        got += d
    print("51st", "closed", got.split(b"\r\n")[0].decode(errors="replace").replace(" ", "_"))
except socket.timeout:
    print("51st", "open")
except OSError as e:
    print("51st", "closed", type(e).__name__)
for s in socks:
    s.close()
EOF
check max_refused "the 51st connection: $(cat "$tmp/max")" grep -q '^51st closed' "$tmp/max"
check max_refused_503 "the 51st connection: $(cat "$tmp/max")" grep -q '503' "$tmp/max"
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$P2/api" >/dev/null && break; sleep 0.1; done
check max_api_after "GET /api after closing the 50" curl -sf "http://127.0.0.1:$P2/api" -o /dev/null
check max_counted "Connections.Refused: '$(conns "$P2" Refused)'" test "$(conns "$P2" Refused)" -ge 1
check max_logged "no log line: $(tail -c 300 "$tmp/small.log")" \
	grep -q 'refused: 50 open already (at most 50: http.max_connections)' "$tmp/small.log"

# A slowloris client (one header byte per second), one that sends nothing and an idle
# keep-alive connection after one answer: each reads EOF within its timeout (3 s, 3 s,
# 2 s) plus a margin; the slow one never gets an answer.
"$PYTHON" - "$P2" >"$tmp/slow" 2>&1 <<'EOF'
import select, socket, sys, time
port = int(sys.argv[1])
t0 = time.monotonic()
slow = socket.create_connection(("127.0.0.1", port), timeout=5)
idle = socket.create_connection(("127.0.0.1", port), timeout=5)
ka = socket.create_connection(("127.0.0.1", port), timeout=5)
ka.sendall(b"GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
req = b"GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 60
state = {slow: "open", idle: "open", ka: "open"}
answer = {ka: b"", slow: b""}
i = 0
next_byte = t0
while time.monotonic() - t0 < 12 and "open" in state.values():
    now = time.monotonic()
    if state[slow] == "open" and now >= next_byte and i < len(req):
        try:
            slow.send(req[i:i + 1])
            i += 1
        except OSError:
            pass
        next_byte += 1
    r, _, _ = select.select([s for s in state if state[s] == "open"], [], [], 0.2)
    for s in r:
        try:
            d = s.recv(4096)
        except OSError:
            d = b""
        if d:
            answer.setdefault(s, b"")
            answer[s] = answer.get(s, b"") + d
        else:
            state[s] = "eof after %.1f s" % (time.monotonic() - t0)
print("slowloris", state[slow].replace(" ", "_"), "bytes_sent", i,
      "answered", b"HTTP/1.1" in answer[slow])
print("idle", state[idle].replace(" ", "_"))
print("keepalive", state[ka].replace(" ", "_"), "answered", b"200 OK" in answer[ka])
EOF
sed "s/^/# /" "$tmp/slow"
check slowloris_dropped "$(cat "$tmp/slow")" grep -q '^slowloris eof.*answered False' "$tmp/slow"
check idle_dropped "$(cat "$tmp/slow")" grep -q '^idle eof' "$tmp/slow"
check keepalive_dropped "$(cat "$tmp/slow")" grep -q '^keepalive eof.*answered True' "$tmp/slow"
check small_alive "GET /api at the end" curl -sf "http://127.0.0.1:$P2/api" -o /dev/null

stop_all
check clean_exit "an analyzer did not exit 0:$bad_exit $(tail -c 600 "$tmp"/*.log)" test -z "$bad_exit"
finish
