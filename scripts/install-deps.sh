#!/bin/sh
# Installs what building and testing skydive needs on Debian 12 (run as root).
# Idempotent: does nothing when everything is already there.
set -e
PKGS="build-essential pkg-config clang libclang-rt-14-dev libpcap-dev libxxhash-dev
libjansson-dev libyaml-dev protobuf-c-compiler libprotobuf-c-dev libwebsockets-dev libnl-3-dev libnl-route-3-dev libcurl4-openssl-dev
libbpf-dev bpftool libelf-dev zlib1g-dev llvm
libcmocka-dev tcpdump tshark python3 python3-scapy python3-xxhash iproute2 iputils-ping ethtool
bridge-utils curl procps jq openvswitch-switch openvswitch-common libssl-dev netcat-openbsd
libcrypt-dev apache2-utils
libcap-dev libcap2-bin util-linux openssl libzstd-dev
nfdump lldpd
prometheus etcd-server etcd-client clickhouse-server
docker.io runc busybox-static
chromium fonts-dejavu-core"
# The web UI's build (make) needs node and npm: Debian's, unless a node is installed
# already (e.g. a newer one from NodeSource, which bundles npm and which Debian's npm
# package would conflict with). chromium + a font: the browser tests (headless).
# prometheus (server + promtool): tests/integration/prometheus.sh scrapes /metrics.
# clickhouse-server: tests/integration/clickhouse.sh starts two private servers (flow
# history backend; no server is started here).
# docker.io, runc, busybox-static: tests/integration/docker_runc.sh starts a private
# dockerd and runc containers from a busybox rootfs (no daemon is started here).
if ! command -v node >/dev/null 2>&1; then
	PKGS="$PKGS nodejs npm"
elif ! command -v npm >/dev/null 2>&1 &&
	dpkg-query -W -f='${Version}' nodejs 2>/dev/null | grep -q . &&
	! dpkg-query -W -f='${Version}' nodejs 2>/dev/null | grep -q nodesource; then
	PKGS="$PKGS npm" # Debian's nodejs without its npm
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root (or with sudo) to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
