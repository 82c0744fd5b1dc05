#!/bin/bash
# docker_runc.sh - the docker and runc probes (docs/TOPOLOGY.md "docker and runc"),
# against a private Docker daemon that leaves the machine's network alone (its own
# data and exec roots and socket under the test's directory, no bridge, no iptables,
# no ip_forward: /work/shared/lab/README.md section 8) and runc run directly on a
# bundle in a network namespace the test creates, with a state directory of its own.
# The image is a local busybox rootfs (`docker import`), no registry. An allinone in
# a namespace of its own runs the probes (agent.topology.probes [docker, runc]).
# Checked, as Skydive's topology/probes/docker/docker.go and runc/runc.go make them,
# with the expected values from `docker inspect` and `runc state`:
#   - a container node per container: Type container, Name, Manager, Container {ID,
#     Image, ImageID, Runtime, Status, InitProcessPID, Labels, Hosts}, its TID
#     UUIDv5(netns TID + Name + "container") (topology/tid.go);
#   - owned (ownership edge) by the netns node of its namespace: Docker's sandbox
#     (Path = SandboxKey, Manager docker), the test's namespace for runc (the
#     namespace the netns probe already has, given Runtime and Manager runc);
#   - runc labels from the bundle's annotations, JSON values kept as JSON under
#     dotted keys (runc.go getLabels);
#   - a container started later appears (Docker's /events; runc's state directory);
#   - a stopped container's node goes (with its sandbox's netns node), a deleted runc
#     container's too (the test's namespace stays);
#   - the agent keeps running when dockerd stops, says so, and reconnects.
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
set -u
. "$(dirname "$0")/lib/harness.sh"
P=skdr$$
T=$tmp
RUN=$T/netns
DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=$(command -v docker)
export DOCKER_HOST=unix://$T/docker.sock
dockerd_pid=""

stop_dockerd() {
	[ -n "$dockerd_pid" ] || return 0
	kill -TERM "$dockerd_pid" 2>/dev/null
	for _ in $(seq 200); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$dockerd_pid" 2>/dev/null
	wait "$dockerd_pid" 2>/dev/null
	dockerd_pid=""
}
cleanup() {
	stop_all
	if [ -n "$dockerd_pid" ]; then
		$DOCKER ps -aq 2>/dev/null | xargs -r $DOCKER rm -f >/dev/null 2>&1
		stop_dockerd
	fi
	for c in $(runc --root "$T/runc" list -q 2>/dev/null); do
		runc --root "$T/runc" kill "$c" KILL 2>/dev/null
		runc --root "$T/runc" delete -f "$c" 2>/dev/null
	done
	# whatever is still mounted below the test's directory (sandboxes, overlays)
	grep -o " $T[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P"); do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "docker_runc: needs root (dockerd, runc, network namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in ip curl jq dockerd runc "$DOCKER" /bin/busybox; do
	command -v $tool >/dev/null || { echo "FAIL setup: $tool missing (scripts/install-deps.sh)"; echo "0 passed, 1 failed"; exit 1; }
done

# ---- a busybox rootfs, a private dockerd, the image ----
mkdir -p "$T/rootfs/bin" "$RUN"
cp /bin/busybox "$T/rootfs/bin/"
for t in sh sleep; do ln -s busybox "$T/rootfs/bin/$t"; done
dockerd --data-root "$T/root" --exec-root "$T/exec" -H "unix://$T/docker.sock" --pidfile "$T/pid" \
	--bridge=none --iptables=false --ip6tables=false --ip-forward=false >"$T/dockerd.log" 2>&1 &
dockerd_pid=$!
start_dockerd_wait() {
	for _ in $(seq 200); do
		$DOCKER version >/dev/null 2>&1 && return 0
		kill -0 "$dockerd_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
start_dockerd_wait || { ko dockerd "$(tail -c 400 "$T/dockerd.log")"; finish; }
tar -C "$T/rootfs" -c . | $DOCKER import - "$P:local" >/dev/null ||
	{ ko image "docker import failed"; finish; }
D1=${P}d1 D2=${P}d2
$DOCKER run -d --network none --label com.example.team=blue --label skydive.test=docker1 \
	--name "$D1" "$P:local" /bin/sleep 600 >/dev/null || { ko docker-run "$D1"; finish; }

# ---- runc: a bundle from the same rootfs, in the test's namespace ----
RNS=${P}rc HOST=${P}host R1=${P}r1 R2=${P}r2
for ns in $RNS $HOST; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
touch "$RUN/$RNS"
mount --bind "/var/run/netns/$RNS" "$RUN/$RNS"
bundle() { # DIR: a bundle whose process sleeps in the test's namespace
	mkdir -p "$1"
	cp -a "$T/rootfs" "$1/rootfs"
	(cd "$1" && runc spec) || return 1
	jq --arg ns "/var/run/netns/$RNS" '.process.terminal = false | .process.args = ["/bin/sleep", "600"]
		| (.linux.namespaces[] | select(.type == "network")) += {path: $ns}
		| .annotations = {"com.example.team": "red", "com.example.ports": "{\"port\":80}"}' \
		"$1/config.json" >"$1/c.json" && mv "$1/c.json" "$1/config.json"
}
bundle "$T/b1" && bundle "$T/b2" || { ko runc-bundle "runc spec failed"; finish; }
runc --root "$T/runc" run -d --bundle "$T/b1" "$R1" </dev/null >"$T/runc1.log" 2>&1 ||
	{ ko runc-run "$(cat "$T/runc1.log")"; finish; }

# ---- the allinone ----
cat >"$T/skydive.yml" <<YML
agent:
  topology:
    probes: [docker, runc]
    docker:
      url: unix://$T/docker.sock
      netns:
        run_path: $T/exec/netns
    runc:
      run_path: [$T/runc]
YML
PORT=8082
ip netns exec "$HOST" env SKYDIVE_ANALYZER_ALLOW_PLAIN_HTTP=true SKYDIVE_ANALYZER_AUTH_API_BACKEND=noauth \
	"$SKYDIVE" allinone -c "$T/skydive.yml" --listen "127.0.0.1:$PORT" \
	--host-id "${P}h" --netns-run-path "$RUN" >"$T/allinone.log" 2>&1 &
AIO=$!
pids+=($AIO)
q() {
	ip netns exec "$HOST" curl -s -m 5 -XPOST "http://127.0.0.1:$PORT/api/topology" \
		-H 'Content-Type: application/json' -d "$(jq -cn --arg q "$1" '{GremlinQuery:$q}')"
}
wait_jq() { # TIMEOUT_S QUERY FILTER [JQ ARGS...]
	local end=$(($(date +%s) + $1)) query=$2 filter=$3
	shift 3
	while [ "$(date +%s)" -le "$end" ]; do
		[ "$(q "$query" | jq -r "$@" "$filter" 2>/dev/null)" = true ] && return 0
		sleep 0.2
	done
	return 1
}
expect() { # NAME WAIT_S QUERY JQ_FILTER [JQ ARGS...]
	local name=$1 w=$2 query=$3 filter=$4
	shift 4
	if wait_jq "$w" "$query" "$filter" "$@"; then ok "$name"; else ko "$name" "$(q "$query" | jq -c . | head -c 700)"; fi
}
logs() { echo "[allinone.log] $(tail -c 800 "$T/allinone.log" | tr '\n' ' ')"; }
uuid5() { "$PYTHON" -c 'import sys, uuid; print(uuid.uuid5(uuid.NAMESPACE_OID, sys.argv[1]))' "$1"; }
node() { echo "G.V().Has('Type','container','Name','$1')"; }

# ---- Docker ----
I1=$($DOCKER inspect "$D1")
expect "docker-node ($D1: Type, Manager, Container as docker inspect says)" 20 "$(node "$D1")" \
	'length == 1 and (.[0].Metadata | .Manager == "docker" and .Container.ID == $i.Id
	 and .Container.Runtime == "docker" and .Container.Status == $i.State.Status
	 and .Container.Status == "running" and .Container.InitProcessPID == $i.State.Pid
	 and .Container.Image == $i.Config.Image and .Container.ImageID == $i.Image
	 and .Container.Labels == $i.Config.Labels and .Container.Hosts == {})' \
	--argjson i "$(echo "$I1" | jq '.[0]')"
[ "$fail" = 0 ] || { logs; finish; }
SANDBOX=$(echo "$I1" | jq -r '.[0].NetworkSettings.SandboxKey')
expect "docker-netns (owned by the netns node of its sandbox: Path = SandboxKey, Manager docker)" 5 \
	"$(node "$D1").In()" \
	'length == 1 and (.[0].Metadata | .Type == "netns" and .Path == $p and .Name == ($p | split("/") | last) and .Manager == "docker")' \
	--arg p "$SANDBOX"
expect "docker-edge (netns -> container, RelationType ownership)" 0 "$(node "$D1").InE()" \
	'length == 1 and .[0].Metadata.RelationType == "ownership"'
NSTID=$(q "$(node "$D1").In()" | jq -r '.[0].Metadata.TID')
WANT=$(uuid5 "${NSTID}${D1}container")
expect "docker-tid (ID = TID = UUIDv5(netns TID + Name + \"container\"))" 0 "$(node "$D1")" \
	'.[0].ID == $w and .[0].Metadata.TID == $w' --arg w "$WANT"

# ---- runc ----
S1=$(runc --root "$T/runc" state "$R1")
expect "runc-node ($R1: Manager runc, Container as runc state says)" 10 "$(node "$R1")" \
	'length == 1 and (.[0].Metadata | .Manager == "runc" and .Container.ID == $s.id
	 and .Container.Runtime == "runc" and .Container.Status == $s.status
	 and .Container.InitProcessPID == $s.pid and .Container.Labels.bundle == $s.bundle
	 and .Container.Hosts == {})' --argjson s "$S1"
expect "runc-labels (annotations as labels: JSON values under dotted keys)" 0 "$(node "$R1")" \
	'.[0].Metadata.Container.Labels.com.example == {"team": "red", "ports": {"port": 80}}'
expect "runc-netns (owned by the test's namespace node, given Runtime and Manager runc)" 0 \
	"$(node "$R1").In()" \
	'length == 1 and (.[0].Metadata | .Type == "netns" and .Name == $n and .Runtime == "runc" and .Manager == "runc")' \
	--arg n "$RNS"
expect "runc-netns-once (one netns node for the namespace, not a second by /proc/PID/ns/net)" 0 \
	"G.V().Has('Type','netns')" '[.[] | select(.Metadata.Path | test("^/proc/"))] | length == 0'

# ---- later containers ----
$DOCKER run -d --network none --label skydive.test=docker2 --name "$D2" "$P:local" /bin/sleep 600 >/dev/null
I2=$($DOCKER inspect "$D2")
expect "docker-event-start ($D2 started after the agent: from /events)" 15 "$(node "$D2")" \
	'length == 1 and .[0].Metadata.Container.ID == $i.Id and .[0].Metadata.Container.InitProcessPID == $i.State.Pid' \
	--argjson i "$(echo "$I2" | jq '.[0]')"
runc --root "$T/runc" run -d --bundle "$T/b2" "$R2" </dev/null >"$T/runc2.log" 2>&1
S2=$(runc --root "$T/runc" state "$R2" 2>/dev/null || echo '{}')
expect "runc-watch ($R2 run after the agent: its state.json seen)" 10 "$(node "$R2")" \
	'length == 1 and .[0].Metadata.Container.InitProcessPID == $s.pid' --argjson s "$S2"

# ---- going away ----
$DOCKER stop -t 1 "$D1" >/dev/null
expect "docker-stop (the die event removes $D1's node)" 15 "$(node "$D1")" 'length == 0'
expect "docker-stop-netns (and its sandbox's netns node)" 5 "G.V().Has('Type','netns','Path','$SANDBOX')" 'length == 0'
runc --root "$T/runc" kill "$R1" KILL
for _ in $(seq 50); do [ "$(runc --root "$T/runc" state "$R1" | jq -r .status)" = stopped ] && break; sleep 0.1; done
runc --root "$T/runc" delete "$R1"
expect "runc-delete ($R1's node goes with its state directory)" 10 "$(node "$R1")" 'length == 0'
expect "runc-delete-netns (the test's namespace node stays: the netns probe holds it)" 0 \
	"G.V().Has('Type','netns','Name','$RNS')" 'length == 1'
expect "runc-other ($R2 is still there)" 0 "$(node "$R2")" 'length == 1'

# ---- dockerd goes and comes back ----
stop_dockerd
sleep 2
if kill -0 "$AIO" 2>/dev/null && q "G.V().Has('Type','host')" | jq -e 'length == 1' >/dev/null 2>&1; then
	ok "dockerd-stopped (the agent keeps running and answering)"
else
	ko "dockerd-stopped" "the allinone exited or does not answer; $(logs)"
fi
if grep -qE "docker probe: (lost Docker|cannot reach Docker) at unix://$T/docker.sock" "$T/allinone.log"; then
	ok "dockerd-stopped-logged (the agent says Docker went, and that it retries)"
else
	ko "dockerd-stopped-logged" "$(logs)"
fi
dockerd --data-root "$T/root" --exec-root "$T/exec" -H "unix://$T/docker.sock" --pidfile "$T/pid" \
	--bridge=none --iptables=false --ip6tables=false --ip-forward=false >>"$T/dockerd.log" 2>&1 &
dockerd_pid=$!
start_dockerd_wait || ko dockerd-restart "$(tail -c 400 "$T/dockerd.log")"
for _ in $(seq 50); do
	[ "$(grep -c "docker probe: connected to Docker" "$T/allinone.log")" -ge 2 ] && break
	sleep 0.2
done
check "dockerd-reconnect (the probe connects again by itself)" "$(logs)" \
	test "$(grep -c "docker probe: connected to Docker" "$T/allinone.log")" -ge 2
# dockerd stopped D2 on its way out; the new listing has no running container
expect "docker-relist (no container node of Docker's once it lists none running)" 10 \
	"G.V().Has('Type','container','Manager','docker')" 'length == 0'

pids=()
kill -TERM "$AIO"
rc=0
for _ in $(seq 100); do kill -0 "$AIO" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$AIO" 2>/dev/null
wait "$AIO" || rc=$?
if [ "$rc" = 0 ] && ! grep -qE 'Sanitizer|runtime error' "$T/allinone.log"; then
	ok clean-exit
else
	ko clean-exit "exit $rc; $(grep -m3 -E 'Sanitizer|runtime error' "$T/allinone.log")"
fi
finish
