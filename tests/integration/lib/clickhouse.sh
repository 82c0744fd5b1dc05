# clickhouse.sh - a private ClickHouse server (Debian's clickhouse-server 18.16) on
# loopback, for tests/integration/clickhouse.sh and bench/clickhouse_bench.sh (sourced).
# ch_start DIR HTTP_PORT TCP_PORT [REMOTE_SERVERS_XML]: a server with its own copy of the
# packaged configuration (plus config.d/cluster.xml when REMOTE_SERVERS_XML is given:
# the <remote_servers> element), data, logs and ports under DIR; CH_PID its pid. Waits
# until its HTTP interface answers (30 s); 1 with the logs' tail on stdout otherwise.
ch_start() {
	local d=$1 http=$2 tcp=$3 rs=${4:-}
	mkdir -p "$d/config.d" "$d/data"
	cp /etc/clickhouse-server/config.xml /etc/clickhouse-server/users.xml "$d/"
	[ -n "$rs" ] && printf '<yandex>\n%s\n</yandex>\n' "$rs" >"$d/config.d/cluster.xml"
	local isp
	isp=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	(cd "$d" && exec clickhouse-server --config-file="$d/config.xml" -- --path="$d/data/" \
		--tmp_path="$d/data/tmp/" --user_files_path="$d/data/user_files/" \
		--format_schema_path="$d/data/format_schemas/" --tcp_port="$tcp" \
		--http_port="$http" --interserver_http_port="$isp" \
		--listen_host=127.0.0.1 --logger.log="$d/log" --logger.errorlog="$d/err" \
		>"$d/out" 2>&1) &
	CH_PID=$!
	for _ in $(seq 1 100); do
		[ "$(curl -s "http://127.0.0.1:$http/" 2>/dev/null)" = "Ok." ] && return 0
		sleep 0.3
	done
	echo "clickhouse in $d did not start: $(tail -c 400 "$d/err" "$d/out" 2>/dev/null)"
	return 1
}
