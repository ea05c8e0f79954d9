#!/bin/sh
# Start or stop a private ClickHouse server for the integration tests of
# sinks/clickhouse: native port 19000 and HTTP port 18123 on 127.0.0.1, data
# in /tmp/ch-sink-dev. It runs Debian's clickhouse-server (18.16) as the
# clickhouse user, because the server does not run as root.
#
#   sinks/clickhouse/testdata/devserver.sh start
#   CLICKSTREAM_TEST_CLICKHOUSE_ADDR=127.0.0.1:19000 go test -tags integration ./sinks/clickhouse/
#   sinks/clickhouse/testdata/devserver.sh stop
set -eu

dir=/tmp/ch-sink-dev
pidfile=$dir/server.pid

write_config() {
	mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/log"
	cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>information</level>
        <log>$dir/log/server.log</log>
        <errorlog>$dir/log/server.err.log</errorlog>
        <size>100M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>19000</tcp_port>
    <http_port>18123</http_port>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
</yandex>
XML
	cat >"$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
        <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
	chown -R clickhouse:clickhouse "$dir"
}

start() {
	if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
		echo "already running, pid $(cat "$pidfile")"
		return
	fi
	if ! command -v clickhouse-server >/dev/null; then
		echo "clickhouse-server is missing: apt-get install -y clickhouse-server clickhouse-client" >&2
		exit 1
	fi
	write_config
	su -s /bin/sh clickhouse -c "exec clickhouse-server --config-file=$dir/config.xml --pid-file=$pidfile --daemon"
	for _ in $(seq 1 50); do
		if clickhouse-client --host 127.0.0.1 --port 19000 -q 'SELECT 1' >/dev/null 2>&1; then
			echo "started, pid $(cat "$pidfile"), native 127.0.0.1:19000"
			return
		fi
		sleep 0.2
	done
	echo "server is not accepting queries on 127.0.0.1:19000 after 10s; see $dir/log/server.err.log" >&2
	exit 1
}

stop() {
	if [ ! -f "$pidfile" ]; then
		echo "not running"
		return
	fi
	pid=$(cat "$pidfile")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "stopped"; return; }
		sleep 0.2
	done
	echo "pid $pid still running after 10s" >&2
	exit 1
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
