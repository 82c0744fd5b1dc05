#!/bin/bash
# The whole test suite: unit tests (cmocka), golden flows, tshark/tcpdump
# cross-checks and the fuzz corpus replay, then the same under AddressSanitizer
# and UndefinedBehaviorSanitizer. Last line: "N passed, M failed".
#   scripts/test.sh            everything (installs missing packages first)
#   QUICK=1 scripts/test.sh    skip the sanitizer pass
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
LOG=${TEST_LOG_DIR:-$ROOT/build/test-logs}
mkdir -p "$LOG"
PASS=0
FAIL=0
FAILED_SUITES=()

scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

# suite NAME CMD...: runs CMD, counts its results from its output.
suite() {
	local name=$1; shift
	local out="$LOG/$name.log"
	"$@" >"$out" 2>&1
	local rc=$?
	local p f
	if grep -q '^\[==========\]' "$out"; then # cmocka
		p=$(grep -c '^\[       OK \]' "$out")
		f=$(grep '^\[  FAILED  \]' "$out" | grep -vc 'test(s)')
	else
		local last
		last=$(grep -E '^[A-Za-z]*:? ?[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
		p=$(echo "$last" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
		f=$(echo "$last" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
		p=${p:-0}; f=${f:-0}
	fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	PASS=$((PASS + p)); FAIL=$((FAIL + f))
	if [ "$f" != 0 ]; then
		FAILED_SUITES+=("$name")
		echo "FAIL $name: $p passed, $f failed (exit $rc) - $out"
		grep -E 'FAIL|ERROR|error|Assert|runtime error|Sanitizer' "$out" | head -20 | sed 's/^/    /'
	else
		echo "ok   $name: $p passed"
	fi
}

# ui_unit: the web UI's own unit tests (node --test over ui/test/), summarised.
ui_unit() {
	local out
	out=$(cd ui && node --test test/ 2>&1)
	local rc=$?
	echo "$out"
	local p f
	p=$(echo "$out" | grep -E '^# pass [0-9]+' | grep -oE '[0-9]+' | tail -1)
	f=$(echo "$out" | grep -E '^# fail [0-9]+' | grep -oE '[0-9]+' | tail -1)
	echo "${p:-0} passed, ${f:-1} failed"
	return $rc
}

# run_all BUILD_DIR TAG: every suite against one build
run_all() {
	local b=$1 tag=$2
	for t in "$b"/tests/test_*; do
		[ -x "$t" ] && suite "$tag$(basename "$t")" "$t"
	done
	for d in fuzz/corpus/*/; do
		local n; n=$(basename "$d")
		[ -x "$b/fuzz-replay/fuzz_$n" ] && suite "${tag}fuzz-replay-$n" "$b/fuzz-replay/fuzz_$n" "$d"
	done
	SKYDIVE=$ROOT/$b/skydive suite "${tag}golden" tests/golden/run.sh
	for s in tests/integration/*.sh; do
		[ -x "$s" ] && SKYDIVE=$ROOT/$b/skydive suite "$tag$(basename "$s" .sh)" "$s"
	done
}

# The suites run as root (namespaces, captures), where `skydive analyzer` refuses to
# start unless told (docs/SECURITY.md "Privileges"); tests/integration/privileges.sh
# unsets this to check the refusal.
export SKYDIVE_ANALYZER_ALLOW_ROOT=true
JOBS=$(nproc 2>/dev/null || echo 2)
if make -j"$JOBS" WERROR=1 all unit fuzz-replay >"$LOG/build.log" 2>&1; then
	echo "ok   build"
	suite ui-unit ui_unit
	run_all build ""
else
	echo "FAIL build - $LOG/build.log"; tail -20 "$LOG/build.log"
	FAIL=$((FAIL + 1))
fi

if [ -z "${QUICK:-}" ]; then
	SAN="address,undefined"
	if make -j"$JOBS" BUILD=build-asan SANITIZE=$SAN OPT=-O1 WERROR=1 all unit fuzz-replay \
		>"$LOG/build-asan.log" 2>&1; then
		echo "ok   build-asan"
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
		export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
		run_all build-asan "asan-"
	else
		echo "FAIL build-asan - $LOG/build-asan.log"; tail -20 "$LOG/build-asan.log"
		FAIL=$((FAIL + 1))
	fi
fi

[ ${#FAILED_SUITES[@]} -gt 0 ] && echo "failed suites: ${FAILED_SUITES[*]}"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
