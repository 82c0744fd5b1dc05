#!/bin/bash
# gen-certs.sh - a test CA and the certificates of a local Skydive cluster (openssl).
# Owned by the TLS work (docs/SECURITY.md, "TLS"); also used by tests/integration/tls.sh.
#
#   scripts/gen-certs.sh [-d DIR] [--days N] [--agent NAME]... [--user NAME]... [SAN]...
#
# Writes into DIR (default ./certs, created 0700):
#   ca.crt, ca.key              the CA (tls.ca_cert of every component)
#   server.crt, server.key      the analyzer (tls.server_cert, tls.server_key); its
#                               subjectAltName: 127.0.0.1, ::1, localhost, the host's
#                               name, and every SAN argument (a name or an IP address)
#   agent-NAME.crt/.key         one client certificate per --agent (default: one, "agent")
#   user-NAME.crt/.key          one client certificate per --user (default: one, "admin")
# Keys are EC P-256, 0600. An existing CA in DIR is reused (so new certificates join the
# same cluster); the leaf certificates are always remade. Exits non-zero with openssl's
# message when a step fails.
set -euo pipefail

dir=certs days=825
agents=() users=() sans=()
while [ $# -gt 0 ]; do
	case $1 in
	-d | --dir) dir=$2; shift 2 ;;
	--days) days=$2; shift 2 ;;
	--agent) agents+=("$2"); shift 2 ;;
	--user) users+=("$2"); shift 2 ;;
	-h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "gen-certs: unknown option $1 (see --help)" >&2; exit 2 ;;
	*) sans+=("$1"); shift ;;
	esac
done
[ ${#agents[@]} -gt 0 ] || agents=(agent)
[ ${#users[@]} -gt 0 ] || users=(admin)
command -v openssl >/dev/null || { echo "gen-certs: openssl not found (apt-get install openssl)" >&2; exit 1; }
case $days in '' | *[!0-9]*) echo "gen-certs: --days wants a number, not '$days'" >&2; exit 2 ;; esac

umask 077
mkdir -p "$dir"
cd "$dir"

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if [ ! -s ca.crt ] || [ ! -s ca.key ]; then
	newkey ca.key
	openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/O=Skydive test/CN=Skydive test CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
fi

# sign NAME CN EXTFILE: NAME.key, NAME.crt signed by the CA with the extensions of EXTFILE.
sign() {
	newkey "$1.key"
	openssl req -new -key "$1.key" -subj "/O=Skydive test/CN=$2" -out "$1.csr"
	openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 \
		-days "$days" -extfile "$3" -out "$1.crt" 2>/dev/null
	rm -f "$1.csr"
}

san="IP:127.0.0.1,IP:::1,DNS:localhost"
host=$(hostname 2>/dev/null || true)
[ -n "$host" ] && [ "$host" != localhost ] && san="$san,DNS:$host"
for s in "${sans[@]}"; do
	# An IPv4 or IPv6 address is an IP entry, anything else a DNS name.
	if [[ $s =~ ^[0-9.]+$ || $s == *:* ]]; then san="$san,IP:$s"; else san="$san,DNS:$s"; fi
done
printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
	"extendedKeyUsage=serverAuth" "subjectAltName=$san" >server.ext
sign server "${sans[0]:-localhost}" server.ext
printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
	"extendedKeyUsage=clientAuth" >client.ext
for a in "${agents[@]}"; do sign "agent-$a" "$a" client.ext; done
for u in "${users[@]}"; do sign "user-$u" "$u" client.ext; done
rm -f server.ext client.ext
chmod 600 ./*.key
echo "gen-certs: CA, server ($san), ${#agents[@]} agent and ${#users[@]} user certificates in $PWD" >&2
