#!/bin/bash
# prometheus.sh - GET /metrics scraped by a real Prometheus (Debian's prometheus,
# started here on 127.0.0.1 of a namespace of our own, with a temporary config and
# storage and a 1 s scrape interval). Lab (prefix skpm<pid>): host1 and host2 linked by
# eth0 veths; `skydive allinone` in host1 (the analyzer and host1's agent, basic auth),
# `skydive agent` in host2 with its API on 10.79.1.2 (basic auth too). A capture on both
# eth0 with BPF icmp, then `ping -c 5` host1 -> host2: each eth0 sees 5 echo requests
# and 5 replies, so each capture's packets counter must be 10 (the rule: what ping sent
# and got back, ARP resolved before the capture). Checks: promtool check metrics on both
# outputs; Prometheus' `up` is 1 for both targets (it scraped with basic_auth as the
# viewer role: /metrics needs status/read); its query of skydive_capture_packets_total
# equals 10 and the capture's PacketsReceived in the nodes' Captures metadata
# (/api/topology); /metrics without credentials is 401; request latency histograms are
# there and their +Inf bucket equals their count; each agent's link to the analyzer is up;
# every query of the Grafana dashboard etc/grafana/skydive-prometheus.json finds series.
# Needs root (ip netns), prometheus + promtool, curl, jq, htpasswd, ping.
. "$(dirname "$0")/lib/harness.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP prometheus: needs root (ip netns)"; echo "0 passed, 0 failed"; exit 0; }
for t in prometheus promtool curl jq htpasswd ping ip; do
	command -v $t >/dev/null || { echo "FAIL setup: $t missing"; echo "0 passed, 1 failed"; exit 1; }
done
P=skpm$$
H1=${P}h1 H2=${P}h2
cleanup() {
	harness_cleanup
	ip netns del "$H1" 2>/dev/null
	ip netns del "$H2" 2>/dev/null
}
trap cleanup EXIT
ip netns add "$H1" && ip netns add "$H2" &&
	ip -n "$H1" link set lo up && ip -n "$H2" link set lo up &&
	ip link add eth0 netns "$H1" type veth peer name eth0 netns "$H2" &&
	ip -n "$H1" addr add 10.79.1.1/24 dev eth0 && ip -n "$H2" addr add 10.79.1.2/24 dev eth0 &&
	ip -n "$H1" link set eth0 up && ip -n "$H2" link set eth0 up ||
	{ echo "FAIL setup: cannot build the namespaces"; echo "0 passed, 1 failed"; exit 1; }
ip netns exec "$H1" ping -c 1 -W 2 10.79.1.2 >/dev/null 2>&1 # ARP before the capture

htpasswd -bBc "$tmp/htpasswd" admin 'adm1n' 2>/dev/null
htpasswd -bB "$tmp/htpasswd" scraper 'scr4pe' 2>/dev/null
cat >"$tmp/skydive.yml" <<EOF
auth:
  users1:
    type: basic
    file: $tmp/htpasswd
analyzer:
  allow_plain_http: true
  auth:
    api:
      backend: users1
    cluster:
      username: admin
      password: adm1n
agent:
  allow_plain_http: true
  auth:
    api:
      backend: users1
    cluster:
      username: admin
      password: adm1n
  capture:
    stats_update: 1
rbac:
  policy:
    - "g, scraper, viewer"
EOF
APORT=18151 GPORT=18152 PPORT=18159
export SKYDIVE_FLOW_UPDATE=1
ip netns exec "$H1" env SKYDIVE_ANALYZER_DATA_DIR="$tmp/data" "$SKYDIVE" allinone -c "$tmp/skydive.yml" \
	--listen "0.0.0.0:$APORT" --host-id host1 --netns-run-path '' >"$tmp/allinone.log" 2>&1 &
pids+=($!)
ip netns exec "$H2" "$SKYDIVE" agent -c "$tmp/skydive.yml" --host-id host2 --analyzer "10.79.1.1:$APORT" \
	--listen "10.79.1.2:$GPORT" --netns-run-path '' >"$tmp/agent2.log" 2>&1 &
pids+=($!)
X() { ip netns exec "$H1" "$@"; }
ADM=(-u 'admin:adm1n')
q() { # the analyzer's topology query
	X curl -s -m 5 "${ADM[@]}" -XPOST "http://127.0.0.1:$APORT/api/topology" \
		-H 'Content-Type: application/json' -d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
wait_jq() { # TIMEOUT QUERY FILTER
	local end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -le "$end" ]; do
		[ "$(q "$2" | jq -r "$3" 2>/dev/null)" = true ] && return 0
		sleep 0.3
	done
	return 1
}
check agents-up "both eth0 nodes never appeared ($(tail -2 "$tmp/allinone.log"; tail -2 "$tmp/agent2.log"))" \
	wait_jq 20 "G.V().Has('Name', 'eth0')" '[.[].Host] | sort == ["host1","host2"]'
code=$(X curl -s -o "$tmp/cap.json" -w '%{http_code}' "${ADM[@]}" -XPOST "http://127.0.0.1:$APORT/api/capture" \
	-H 'Content-Type: application/json' -d '{"GremlinQuery":"G.V().Has(\"Name\", \"eth0\")","BPFFilter":"icmp"}')
CID=$(jq -r .UUID "$tmp/cap.json" 2>/dev/null)
check capture-created "POST /api/capture: $code $(head -c 200 "$tmp/cap.json")" test "$code" = 200 -o "$code" = 201
check capture-active "the capture never became active on both eth0" \
	wait_jq 20 "G.V().Has('Name', 'eth0')" "[.[].Metadata.Captures[]? | select(.ID == \"$CID\" and .State == \"active\")] | length == 2"
X ping -c 5 -i 0.2 -W 2 10.79.1.2 >/dev/null 2>&1
check capture-counted "the Captures metadata never showed 10 packets on both eth0" \
	wait_jq 20 "G.V().Has('Name', 'eth0')" "[.[].Metadata.Captures[]? | select(.ID == \"$CID\") | .PacketsReceived] == [10,10]"

# ---- the exposition itself: promtool, auth ----
X curl -s -m 5 -u 'scraper:scr4pe' "http://127.0.0.1:$APORT/metrics" >"$tmp/an.prom"
X curl -s -m 5 -u 'scraper:scr4pe' "http://10.79.1.2:$GPORT/metrics" >"$tmp/ag.prom"
for t in an ag; do
	check "promtool-$t" "$(promtool check metrics <"$tmp/$t.prom" 2>&1 | head -5)" \
		sh -c "test -s '$tmp/$t.prom' && promtool check metrics <'$tmp/$t.prom' >'$tmp/$t.lint' 2>&1"
done
code=$(X curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$APORT/metrics")
check metrics-needs-auth "GET /metrics without credentials: $code" test "$code" = 401
# a histogram's +Inf bucket is its count (the route that answered our topology queries)
inf=$(grep '^skydive_http_request_duration_seconds_bucket{host="host1",route="/api/topology",le="+Inf"}' "$tmp/an.prom" | awk '{print $2}')
cnt=$(grep '^skydive_http_request_duration_seconds_count{host="host1",route="/api/topology"}' "$tmp/an.prom" | awk '{print $2}')
check latency-histogram "+Inf bucket '$inf', count '$cnt'" sh -c "[ -n '$inf' ] && [ '$inf' = '$cnt' ] && [ '$cnt' -ge 1 ]"

# ---- Prometheus ----
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: analyzer
    basic_auth: {username: scraper, password: scr4pe}
    static_configs: [{targets: ["127.0.0.1:$APORT"]}]
  - job_name: agent
    basic_auth: {username: scraper, password: scr4pe}
    static_configs: [{targets: ["10.79.1.2:$GPORT"]}]
EOF
ip netns exec "$H1" prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
pq() { # PromQL -> the result vector as JSON
	X curl -s -m 5 "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" | jq -c '.data.result'
}
wait_pq() { # TIMEOUT QUERY FILTER
	local end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -le "$end" ]; do
		[ "$(pq "$2" | jq -r "$3" 2>/dev/null)" = true ] && return 0
		sleep 0.5
	done
	return 1
}
for job in analyzer agent; do
	check "up-$job" "up{job=\"$job\"}: $(pq "up{job=\"$job\"}") ($(tail -2 "$tmp/prometheus.log"))" \
		wait_pq 30 "up{job=\"$job\"}" '.[0].value[1] == "1"'
done
# the counters in the nodes' metadata, now (they do not move: no more ICMP)
meta=$(q "G.V().Has('Name', 'eth0')" | jq -c "[.[] | {h: .Host, n: (.Metadata.Captures[]? | select(.ID == \"$CID\") | .PacketsReceived)}] | sort_by(.h) | map(.n)")
check meta-counters "metadata PacketsReceived $meta, the rule says [10,10]" test "$meta" = "[10,10]"
# the analyzer sees both hosts' captures (its graph), the agent its own
for sel in "analyzer host1" "analyzer host2" "agent host2"; do
	set -- $sel
	want=$(echo "$meta" | jq ".[$([ "$2" = host1 ] && echo 0 || echo 1)]")
	check "prom-packets-$1-$2" "skydive_capture_packets_total{job=$1,host=$2}: $(pq "skydive_capture_packets_total{job=\"$1\",host=\"$2\",capture_id=\"$CID\"}"), want $want" \
		wait_pq 20 "skydive_capture_packets_total{job=\"$1\",host=\"$2\",node=\"eth0\",capture_id=\"$CID\"}" \
		"length == 1 and .[0].value[1] == \"$want\""
done
check prom-kernel-drops "kernel drops of the capture: $(pq "skydive_capture_dropped_total{job=\"analyzer\",stage=\"kernel\",capture_id=\"$CID\"}")" \
	wait_pq 10 "skydive_capture_dropped_total{job=\"analyzer\",stage=\"kernel\",capture_id=\"$CID\"}" \
	'length == 2 and all(.[]; .value[1] == "0")'
check prom-ws-agents "skydive_websocket_peers{kind=agent} on the analyzer: $(pq 'skydive_websocket_peers{job="analyzer",kind="agent"}')" \
	wait_pq 10 'skydive_websocket_peers{job="analyzer",kind="agent"}' '.[0].value[1] == "2"'
# one start per node the capture matched (the two eth0), no stop: the capture still runs
check prom-dispatch-sent "$(pq 'skydive_capture_dispatch_sent_total' | jq -c '[.[] | [.metric.kind, .value[1]]]')" \
	wait_pq 10 'skydive_capture_dispatch_sent_total{job="analyzer"}' '[.[] | [.metric.kind, .value[1]]] | sort == [["start","2"],["stop","0"]]'
check prom-dispatch-failed "capture dispatch failures: $(pq 'skydive_capture_dispatch_failed_total')" \
	wait_pq 10 'skydive_capture_dispatch_failed_total{job="analyzer"}' 'length == 4 and all(.[]; .value[1] == "0")'
for job in analyzer agent; do # allinone's in-process agent, and host2's
	check "prom-agent-link-$job" "skydive_agent_analyzers_connected: $(pq "skydive_agent_analyzers_connected{job=\"$job\"}")" \
		wait_pq 10 "skydive_agent_analyzers_connected{job=\"$job\"}" '.[0].value[1] == "1"'
done
# the Grafana dashboard's queries (etc/grafana): each is valid PromQL over our metrics
# and finds series here (Grafana itself is not in Debian)
# (rate() over a range needs two samples of a series: a capture's series may have
# been scraped only once yet, so each query may wait a few scrapes)
while IFS= read -r expr; do
	wait_pq 15 "$expr" 'length > 0' || true
	r=$(X curl -s -m 5 "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$expr")
	check "grafana-query: $expr" "$(echo "$r" | head -c 200)" \
		sh -c "echo '$r' | jq -e '.status == \"success\" and (.data.result | length) > 0' >/dev/null"
done < <(jq -r '.panels[].targets[].expr' "$root/etc/grafana/skydive-prometheus.json")
stop_all
check clean-exit "daemons' exit statuses:$bad_exit" test -z "$bad_exit"
finish
