# harness.sh - what the integration tests share (sourced, not run): the result
# counters and their `ok NAME` / `FAIL NAME: reason` lines, process cleanup, and the
# small helpers of the API tests. Sets root, SKYDIVE, PYTHON, tmp, pids, pass, fail.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
case $SKYDIVE in /*) ;; *) SKYDIVE=$root/$SKYDIVE ;; esac
PYTHON=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
pids=()
pass=0 fail=0
# Daemons a test starts keep their state (flow segments, topology history, captures,
# tokens) in the test's own directory, never in /var/lib/skydive across runs; a test
# that sets its own data_dir keeps it.
export SKYDIVE_ANALYZER_DATA_DIR=${SKYDIVE_ANALYZER_DATA_DIR:-$tmp/daemon-data}
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
# check NAME REASON CMD...: ok when CMD succeeds.
check() {
	local name=$1 why=$2; shift 2
	if "$@"; then ok "$name"; else ko "$name" "$why"; fi
}
# finish: the summary line, and the exit status.
finish() { echo "$pass passed, $fail failed"; exit $((fail > 0)); }
# Kills what the test started (pids), then removes tmp; tests may replace it.
harness_cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap harness_cleanup EXIT
free_port() {
	"$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# jtest EXPR < json: true when the Python expression over j holds.
jtest() {
	"$PYTHON" -c 'import json,sys; j=json.load(sys.stdin); sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" 2>/dev/null
}
# wait_api PORT: until the analyzer on 127.0.0.1:PORT answers (10 s at most).
wait_api() {
	local port=$1
	for _ in $(seq 1 100); do
		curl -sf "http://127.0.0.1:$port/api" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
# stop_all: SIGTERM to every pid, SIGKILL after 10 s; bad_exit lists "pid:status" of
# those that did not exit 0 (empty when all did). What a sanitizer reports at exit is
# in their logs afterwards.
stop_all() {
	bad_exit=""
	local pid
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${pids[@]}"; do
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null || bad_exit="$bad_exit $pid:$?"
	done
	pids=()
}
