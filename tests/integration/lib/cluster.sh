# cluster.sh - what the tests of several analyzers share (sourced after harness.sh):
# analyzers in the network namespace $AN, analyzer N on port ${APORT[N]} with the
# configuration $tmp/an.yml and its data in $tmp/anN; their Gremlin queries, status and
# waits; the cleanup of every namespace named $P*. The test sets P, AN and APORT (an
# associative array) before calling any of these; start_an sets APID[N].
ko() { echo "FAIL $1: ${2:0:400}"; fail=$((fail + 1)); }
cluster_cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P"); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
inan() { ip netns exec "$AN" "$@"; }
declare -A APID
start_an() { # N: until its API answers (10 s)
	ip netns exec "$AN" env SKYDIVE_ANALYZER_DATA_DIR="$tmp/an$1" SKYDIVE_ANALYZER_ALLOW_PLAIN_HTTP=true \
		SKYDIVE_ANALYZER_AUTH_API_BACKEND=noauth "$SKYDIVE" analyzer -c "$tmp/an.yml" \
		--listen "0.0.0.0:${APORT[$1]}" --host-id "an$1" >>"$tmp/an$1.log" 2>&1 &
	APID[$1]=$!
	pids+=($!)
	for _ in $(seq 1 100); do
		inan curl -sf "http://127.0.0.1:${APORT[$1]}/api" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
q() { # N GREMLIN: analyzer N's answer
	inan curl -s -m 10 -XPOST "http://127.0.0.1:${APORT[$1]}/api/topology" \
		-H 'Content-Type: application/json' -d "$(jq -cn --arg q "$2" '{GremlinQuery:$q}')"
}
st() { inan curl -s -m 10 "http://127.0.0.1:${APORT[$1]}/api/status"; }
LAST=
wait_jq() { # TIMEOUT_S N QUERY FILTER: until the answer passes the jq FILTER (in LAST)
	local end=$(($(date +%s) + $1))
	while :; do
		LAST=$(q "$2" "$3")
		[ "$(echo "$LAST" | jq -r "$4" 2>/dev/null)" = true ] && return 0
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.3
	done
}
expect() { if wait_jq "$2" "$3" "$4" "$5"; then ok "$1"; else ko "$1" "$LAST"; fi; } # NAME TIMEOUT N QUERY FILTER
wait_st() { # TIMEOUT_S N FILTER: until analyzer N's /api/status passes FILTER (in LAST)
	local end=$(($(date +%s) + $1))
	while :; do
		LAST=$(st "$2")
		[ "$(echo "$LAST" | jq -r "$3" 2>/dev/null)" = true ] && return 0
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.3
	done
}
