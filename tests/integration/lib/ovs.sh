# lib/ovs.sh - a private Open vSwitch for integration tests (sourced, not
# run): ovsdb-server + ovs-vswitchd with the userspace netdev datapath (no
# kernel module), database, sockets, pidfiles and logs in $OVS_TMP, never
# /var/run/openvswitch. Same approach as topology_ovs.sh.
#   OVS_TMP=DIR; . lib/ovs.sh; ovs_start || ...; vsctl add-br ...; ovs_stop
# ovs_start returns non-zero with the reason in $ovs_error.

OVS_DB=unix:$OVS_TMP/db.sock
ovs_started=0
ovs_error=""
# OVS tools and daemons use the temp dir.
export OVS_RUNDIR=$OVS_TMP OVS_LOGDIR=$OVS_TMP OVS_DBDIR=$OVS_TMP OVS_SYSCONFDIR=$OVS_TMP
vsctl() { ovs-vsctl --db="$OVS_DB" --timeout=10 "$@"; }

# Kills exactly the PID of a pidfile we own, if it is still that daemon.
ovs_kill_pidfile() { # NAME
	local f=$OVS_TMP/$1.pid pid
	[ -s "$f" ] || return 0
	pid=$(cat "$f")
	case "$(cat /proc/"$pid"/comm 2>/dev/null)" in
	"$1" | "${1:0:15}")
		kill -TERM "$pid"
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		;;
	esac
}

ovs_start() {
	for tool in ovsdb-tool ovsdb-server ovs-vswitchd ovs-vsctl; do
		command -v $tool >/dev/null ||
			{ ovs_error="$tool missing (scripts/install-deps.sh installs openvswitch-switch)"; return 1; }
	done
	if ip link show ovs-netdev >/dev/null 2>&1; then
		ovs_error="another userspace OVS owns the ovs-netdev device; refusing to share it"
		return 1
	fi
	ovsdb-tool create "$OVS_TMP/conf.db" /usr/share/openvswitch/vswitch.ovsschema ||
		{ ovs_error="ovsdb-tool create failed"; return 1; }
	ovs_started=1
	ovsdb-server "$OVS_TMP/conf.db" --remote=punix:"$OVS_TMP/db.sock" \
		--pidfile="$OVS_TMP/ovsdb-server.pid" --detach --log-file="$OVS_TMP/ovsdb-server.log" \
		--unixctl="$OVS_TMP/ovsdb-server.ctl" -vconsole:off 2>/dev/null ||
		{ ovs_error="ovsdb-server did not start: $(tail -c 300 "$OVS_TMP/ovsdb-server.log")"; return 1; }
	vsctl --no-wait init
	ovs-vswitchd "$OVS_DB" --pidfile="$OVS_TMP/ovs-vswitchd.pid" --detach \
		--log-file="$OVS_TMP/ovs-vswitchd.log" --unixctl="$OVS_TMP/ovs-vswitchd.ctl" \
		-vconsole:off 2>/dev/null ||
		{ ovs_error="ovs-vswitchd did not start: $(tail -c 300 "$OVS_TMP/ovs-vswitchd.log")"; return 1; }
}

# Deletes the bridges given, stops the daemons (exactly our PIDs).
ovs_stop() { # [BRIDGE...]
	[ "$ovs_started" = 1 ] || return 0
	local br
	for br in "$@"; do vsctl --if-exists del-br "$br" >/dev/null 2>&1; done
	ovs_kill_pidfile ovs-vswitchd
	ovs_kill_pidfile ovsdb-server
	# Left by vswitchd's userspace datapath when it cannot tidy up; it did not
	# exist before we started (ovs_start checks).
	ip link del ovs-netdev 2>/dev/null
	ovs_started=0
}
