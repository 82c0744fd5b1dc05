#!/bin/bash
# api_pcap.sh - flows at the analyzer: `skydive client pcap` into POST /api/pcap, then
# Gremlin flow queries (REST and `skydive client query`) checked against `skydive flows
# --read` of the same file, a corrupt stream, and RawPackets() as a pcap read by tcpdump.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
PYTHON=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
# the flow store persists in the data dir: a fresh one per run (not /var/lib/skydive)
export SKYDIVE_ANALYZER_DATA_DIR="$tmp"
apid=
cleanup() {
	[ -n "$apid" ] && kill "$apid" 2>/dev/null && wait "$apid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
check() {
	local name=$1 why=$2; shift 2
	if "$@"; then ok "$name"; else ko "$name" "$why"; fi
}
jtest() {
	"$PYTHON" -c 'import json,sys; j=json.load(sys.stdin); sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" 2>/dev/null
}
query() { # query GREMLIN: JSON answer of POST /api/topology on stdout
	curl -s -XPOST "$URL/api/topology" -H 'Content-Type: application/json' \
		--data "$("$PYTHON" -c 'import json,sys; print(json.dumps({"GremlinQuery": sys.argv[1]}))' "$1")"
}
PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
A=127.0.0.1:$PORT
URL=http://$A
"$PYTHON" "$root/tests/golden/gen_pcaps.py" "$tmp" >/dev/null || { echo "FAIL gen: gen_pcaps.py failed"; echo "0 passed, 1 failed"; exit 1; }
"$SKYDIVE" analyzer --listen "$A" 2>"$tmp/analyzer.log" &
apid=$!
for _ in $(seq 1 100); do curl -sf "$URL/api" >/dev/null 2>&1 && break; sleep 0.1; done
if ! curl -sf "$URL/api" >/dev/null 2>&1; then
	echo "FAIL start: $(head -c 500 "$tmp/analyzer.log")"; echo "0 passed, 1 failed"; exit 1
fi
ok start

# ---- import --------------------------------------------------------------------
"$SKYDIVE" client --analyzer "$A" pcap -t "$tmp/icmp4.pcap" --rawpacket-limit 2 >"$tmp/o" 2>"$tmp/e"
check client-pcap "client pcap: rc $? $(cat "$tmp/e" "$tmp/o")" jtest 'j["Packets"]>0 and j["Flows"]>0' <"$tmp/o"
"$SKYDIVE" flows --read "$tmp/icmp4.pcap" >"$tmp/icmp4.json"
n_off=$("$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$tmp/icmp4.json")
check summary-flows "summary $(cat "$tmp/o") vs $n_off offline flows" jtest "j['Flows']==$n_off" <"$tmp/o"
query "G.Flows().Count()" >"$tmp/o"
check count "G.Flows().Count() = $(cat "$tmp/o"), flows --read says $n_off" jtest "j==$n_off" <"$tmp/o"
"$SKYDIVE" client --analyzer "$A" query "G.Flows().Count()" >"$tmp/o" 2>&1
check client-query-count "client query: $(cat "$tmp/o")" jtest "j==$n_off" <"$tmp/o"
query "G.Flows().Values('TrackingID')" >"$tmp/o"
"$PYTHON" -c 'import json,sys; print(json.dumps(sorted(f["TrackingID"] for f in json.load(open(sys.argv[1])))))' "$tmp/icmp4.json" >"$tmp/want"
check tracking-ids "got $(cat "$tmp/o"), want $(cat "$tmp/want")" jtest "sorted(j)==$(cat "$tmp/want")" <"$tmp/o"
n_icmp=$("$PYTHON" -c 'import json,sys; print(sum(1 for f in json.load(open(sys.argv[1])) if f.get("Application")=="ICMPv4"))' "$tmp/icmp4.json")
query "G.Flows().Has('Application','ICMPv4').Count()" >"$tmp/o"
check has-application "ICMPv4 flows $(cat "$tmp/o"), want $n_icmp" jtest "j==$n_icmp" <"$tmp/o"

"$SKYDIVE" client --analyzer "$A" pcap -t "$tmp/tcp.pcap" >"$tmp/o" 2>"$tmp/e"
check client-pcap-tcp "client pcap tcp: $(cat "$tmp/e")" jtest 'j["Flows"]>=1' <"$tmp/o"
"$SKYDIVE" flows --read "$tmp/tcp.pcap" >"$tmp/tcp.json"
ip=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["Network"]["B"])' "$tmp/tcp.json")
query "G.Flows().Has('Network','$ip')" >"$tmp/o"
check network-a-or-b "Has('Network','$ip'): $(head -c 300 "$tmp/o")" \
	jtest "len(j)>=1 and all('$ip' in (f['Network']['A'], f['Network']['B']) for f in j)" <"$tmp/o"
query "G.Flows().Has('Network.A','$ip').Count()" >"$tmp/o"
check network-a-only "Has('Network.A','$ip'): $(cat "$tmp/o")" jtest 'j==0' <"$tmp/o"
query "G.Flows().Has('Metric.ABPackets', GT(1)).Sort(DESC,'Start').Limit(2).Values('Start')" >"$tmp/o"
check predicate-sort "$(cat "$tmp/o")" jtest 'len(j)<=2 and j==sorted(j, reverse=True)' <"$tmp/o"

# ---- time windows (the generated files are from 2023-11-14) -----------------------
start=$("$PYTHON" -c 'import json,sys; print(min(f["Start"] for f in json.load(open(sys.argv[1]))))' "$tmp/tcp.json")
query "G.At('-1h', 7200).Flows().Count()" >"$tmp/o"
check at-now "G.At('-1h',7200) on 2023 flows: $(cat "$tmp/o")" jtest 'j==0' <"$tmp/o"
query "G.At($((start + 1000)), 3600).Flows().Has('Network','$ip').Count()" >"$tmp/o"
check at-file-time "G.At(file time): $(cat "$tmp/o")" jtest 'j>=1' <"$tmp/o"

# ---- corrupt stream ---------------------------------------------------------------
head -c 300 "$tmp/udp.pcap" >"$tmp/cut.pcap"
code=$(curl -s -o "$tmp/o" -w '%{http_code}' -XPOST --data-binary @"$tmp/cut.pcap" "$URL/api/pcap")
check corrupt-400 "code $code: $(cat "$tmp/o")" jtest "$code==400 and 'offset' in j['Error'] and 'Flows' in j" <"$tmp/o"
code=$(curl -s -o "$tmp/o" -w '%{http_code}' -XPOST --data-binary 'not a pcap at all' "$URL/api/pcap")
check foreign-400 "code $code: $(cat "$tmp/o")" jtest "$code==400 and 'pcap' in j['Error']" <"$tmp/o"
"$SKYDIVE" client --analyzer "$A" pcap -t "$tmp/cut.pcap" >"$tmp/o" 2>"$tmp/e"
rc=$?
check client-corrupt "rc $rc: $(cat "$tmp/e")" grep -q offset "$tmp/e"

# ---- status -------------------------------------------------------------------------
curl -s "$URL/api/status" >"$tmp/o"
check status-flows "$(head -c 300 "$tmp/o")" jtest 'j["Flows"]["Flows"]>0 and j["Flows"]["BytesPerFlow"]>0 and "Dropped" in j["Flows"]' <"$tmp/o"

# ---- raw packets ----------------------------------------------------------------------
query "G.Flows().Has('Application','ICMPv4').RawPackets()" >"$tmp/o"
check rawpackets-json "$(head -c 300 "$tmp/o")" \
	jtest 'len(j)==1 and list(j[0])==sorted(j[0]) and len(j[0])>=1 and all(len(v)<=2 and v[0]["Index"]==1 and v[0]["LinkType"]==1 and v[0]["Data"] for e in j for v in e.values())' <"$tmp/o"
code=$(curl -s -o "$tmp/raw.pcap" -w '%{http_code}' -XPOST "$URL/api/topology" \
	-H 'Accept: application/vnd.tcpdump.pcap' -H 'Content-Type: application/json' \
	--data "{\"GremlinQuery\":\"G.Flows().Has('Application','ICMPv4').RawPackets()\"}")
if command -v tcpdump >/dev/null; then
	tcpdump -nn -r "$tmp/raw.pcap" 2>/dev/null >"$tmp/td"
	check pcap-tcpdump "code $code, tcpdump: $(head -3 "$tmp/td")" grep -q "ICMP echo" "$tmp/td"
else
	check pcap-download "code $code" test "$code" = 200
fi
# the same through the client, as the tutorial does it
"$SKYDIVE" client --analyzer "$A" query "G.Flows().Has('Application','ICMPv4').RawPackets()" \
	--format pcap >"$tmp/cli.pcap" 2>"$tmp/e"
rc=$?
check client-format-pcap "rc $rc: $(cat "$tmp/e")" cmp -s "$tmp/cli.pcap" "$tmp/raw.pcap"
code=$(curl -s -o "$tmp/o" -w '%{http_code}' -XPOST "$URL/api/topology" \
	-H 'Accept: application/vnd.tcpdump.pcap' -H 'Content-Type: application/json' --data '{"GremlinQuery":"G.Flows().Count()"}')
check pcap-406 "code $code: $(cat "$tmp/o")" test "$code" = 406

# ---- Metrics(), Sum(), Aggregates() -----------------------------------------------------
# imported flows are stored when they leave the table: one update record each (their
# LastUpdateMetric), which for these short files is the whole flow
query "G.Flows().Has('Application','ICMPv4').Metrics()" >"$tmp/o"
query "G.Flows().Has('Application','ICMPv4')" >"$tmp/f"
check metrics-shape "$(head -c 300 "$tmp/o")" jtest \
	"len(j)==1 and len(j[0])==$n_icmp and all(len(v)>=1 and all(set(m)>={'ABPackets','ABBytes','BAPackets','BABytes','Start','Last'} for m in v) for v in j[0].values())" <"$tmp/o"
check metrics-match-flows "$(head -c 300 "$tmp/o")" "$PYTHON" -c '
import json,sys
m=json.load(open(sys.argv[1]))[0]; fl=json.load(open(sys.argv[2]))
ok=all(sum(x["ABPackets"]+x["BAPackets"] for x in m[f["UUID"]])==f["Metric"].get("ABPackets",0)+f["Metric"].get("BAPackets",0) for f in fl)
sys.exit(0 if ok and len(fl)==len(m) else 1)' "$tmp/o" "$tmp/f"
want_ab=$("$PYTHON" -c 'import json,sys; print(sum(f["Metric"].get("ABBytes",0) for f in json.load(open(sys.argv[1])) if f.get("Application")=="ICMPv4"))' "$tmp/icmp4.json")
query "G.Flows().Has('Application','ICMPv4').Metrics().Sum()" >"$tmp/o"
check metrics-sum "$(cat "$tmp/o"), want ABBytes $want_ab" jtest \
	"isinstance(j,dict) and j['ABBytes']==$want_ab and j['Start']<=j['Last']" <"$tmp/o"
query "G.Flows().Has('Application','ICMPv4').Metrics().Sum('ABBytes')" >"$tmp/o"
check metrics-sum-key "$(cat "$tmp/o"), want $want_ab" jtest "j==$want_ab" <"$tmp/o"
query "G.Flows().Has('Application','ICMPv4').Metrics().Aggregates()" >"$tmp/o"
check aggregates-default "$(head -c 300 "$tmp/o")" jtest \
	"len(j)==1 and sum(m['ABBytes'] for m in j[0]['Aggregated'])==$want_ab and all(m['Last']-m['Start']==30000 for m in j[0]['Aggregated'][:-1]) and 0<j[0]['Aggregated'][-1]['Last']-j[0]['Aggregated'][-1]['Start']<=30000" <"$tmp/o"
query "G.Flows().Has('Application','ICMPv4').Metrics().Aggregates(1)" >"$tmp/o"
check aggregates-1s "$(head -c 300 "$tmp/o")" jtest \
	"sum(m['ABBytes'] for m in j[0]['Aggregated'])==$want_ab and all(0<m['Last']-m['Start']<=1000 for m in j[0]['Aggregated'])" <"$tmp/o"
code=$(curl -s -o "$tmp/o" -w '%{http_code}' -XPOST "$URL/api/topology" \
	-H 'Content-Type: application/json' --data "{\"GremlinQuery\":\"G.Flows().Metrics().Aggregates(0)\"}")
check aggregates-400 "code $code: $(cat "$tmp/o")" jtest "$code==400 and 'Position' in j" <"$tmp/o"

# ---- BPF() on raw packets ---------------------------------------------------------------
query "G.Flows().Has('Application','ICMPv4').RawPackets()" >"$tmp/all"
query "G.Flows().Has('Application','ICMPv4').RawPackets().BPF('icmp[icmptype] == 0')" >"$tmp/o"
check bpf-replies "$(head -c 300 "$tmp/o")" "$PYTHON" -c '
import json,sys,base64
a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
def pk(j): return [(u,p["Index"]) for e in j for u,v in e.items() for p in v]
def t8(p): d=base64.b64decode(p["Data"]); return d[14+(d[14]&15)*4]
ok=len(pk(b))>=1 and set(pk(b))<=set(pk(a)) and all(t8(p)==0 for e in b for v in e.values() for p in v)
ok=ok and len(pk(b))==sum(1 for e in a for v in e.values() for p in v if t8(p)==0)
sys.exit(0 if ok else 1)' "$tmp/all" "$tmp/o"
query "G.Flows().RawPackets().BPF('udp port 1')" >"$tmp/o"
check bpf-none "$(head -c 300 "$tmp/o")" jtest 'j==[]' <"$tmp/o"
code=$(curl -s -o "$tmp/o" -w '%{http_code}' -XPOST "$URL/api/topology" \
	-H 'Content-Type: application/json' --data "{\"GremlinQuery\":\"G.Flows().RawPackets().BPF('icmp and')\"}")
check bpf-400 "code $code: $(cat "$tmp/o")" jtest \
	"$code==400 and 'invalid BPF filter' in j['Error'] and j['Position']==23" <"$tmp/o"
code=$(curl -s -o "$tmp/bpf.pcap" -w '%{http_code}' -XPOST "$URL/api/topology" \
	-H 'Accept: application/vnd.tcpdump.pcap' -H 'Content-Type: application/json' \
	--data "{\"GremlinQuery\":\"G.Flows().Has('Application','ICMPv4').RawPackets().BPF('icmp[icmptype] == 0')\"}")
if command -v tcpdump >/dev/null; then
	tcpdump -nn -r "$tmp/bpf.pcap" 2>/dev/null >"$tmp/td"
	check bpf-pcap "code $code, tcpdump: $(head -3 "$tmp/td")" \
		"$PYTHON" -c 'import sys; l=open(sys.argv[1]).read().splitlines(); sys.exit(0 if l and all("echo reply" in x for x in l) else 1)' "$tmp/td"
fi

# ---- flow steps giving nodes: no graph here, so none (and no error) --------------------
for st in 'CaptureNode()' 'Hops()' 'Nodes()' 'In()' 'Out()' 'Both()'; do
	query "G.Flows().$st" >"$tmp/o"
	check "flow-$st" "$(head -c 200 "$tmp/o")" jtest 'j==[]' <"$tmp/o"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
