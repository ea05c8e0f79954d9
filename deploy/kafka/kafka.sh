#!/usr/bin/env bash
# Install, start, stop and report on a single-node Apache Kafka broker in KRaft
# mode (broker and controller in one JVM) for local development and tests. It
# listens on 127.0.0.1 only and keeps its jars, config, data and logs under
# var/kafka/ in the repository.
#
# Usage: deploy/kafka/kafka.sh install|start|stop|status
#        deploy/kafka/kafka.sh topics [TopicCommand options]
#
# Environment:
#   KAFKA_PORT             client listener port (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port (default 9093)
#   KAFKA_HEAP_OPTS        JVM heap options (default "-Xms256m -Xmx512m")
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to respond (default 90)
#   JAVA_HOME              Java 17 or newer to use instead of the java in PATH
set -euo pipefail

LOG_TAG=kafka
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"

KAFKA_HOST=127.0.0.1
NODE_ID=1
POM_FILE="$DEPLOY_DIR/kafka/pom.xml"
STATE_DIR="$VAR_DIR/kafka"
LIBS_DIR="$STATE_DIR/libs"
# Written after a complete download. It contains the Kafka version of the jars.
INSTALLED_FILE="$LIBS_DIR/.installed-version"
DATA_DIR="$STATE_DIR/data"
LOG_DIR="$STATE_DIR/logs"
SERVER_LOG="$LOG_DIR/server.log"
STDOUT_LOG="$LOG_DIR/kafka.out"
CONFIG_FILE="$STATE_DIR/server.properties"
LOG4J_FILE="$STATE_DIR/log4j2.properties"
TOOLS_LOG4J_FILE="$STATE_DIR/tools-log4j2.properties"
CLUSTER_ID_FILE="$STATE_DIR/cluster-id"
PID_FILE="$STATE_DIR/kafka.pid"
# The broker's command line ends with the config path, which distinguishes it
# from the brokers of other checkouts and from an unrelated process that
# reused the pid.
PID_MARKER="kafka.Kafka $CONFIG_FILE"

if [[ -n "${JAVA_HOME:-}" ]]; then
  JAVA="$JAVA_HOME/bin/java"
else
  JAVA=java
fi

pom_kafka_version() {
  sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM_FILE" | head -n 1
}

# Print the major version of the Java runtime, for example 17.
java_major_version() {
  "$JAVA" -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n 1
}

# Install Java 17 and Maven from Debian when they are missing. Kafka 4.x
# brokers need Java 17 or newer.
install_build_tools() {
  local -a packages=()
  if ! command -v "$JAVA" >/dev/null 2>&1; then
    packages+=(openjdk-17-jre-headless)
  fi
  if ! command -v mvn >/dev/null 2>&1; then
    packages+=(maven)
  fi
  if ((${#packages[@]} > 0)); then
    ((EUID == 0)) || die "missing ${packages[*]}. Install them, or run: sudo $0 install"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-cache show "${packages[@]}" >/dev/null 2>&1; then
      log "${packages[*]} not found in the apt package lists; running apt-get update"
      apt-get update
    fi
    log "installing ${packages[*]} with apt-get"
    apt-get install -y "${packages[@]}"
  fi
}

require_java() {
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (looked for '$JAVA'). Run: $0 install, or set JAVA_HOME"
  local major
  major="$(java_major_version)"
  if [[ -z "$major" ]] || ((major < 17)); then
    die "Kafka $(pom_kafka_version) needs Java 17 or newer, but '$JAVA' is version '${major:-unknown}'. Set JAVA_HOME to a newer Java"
  fi
}

cmd_install() {
  local version
  version="$(pom_kafka_version)"
  [[ -n "$version" ]] || die "no <kafka.version> found in $POM_FILE"
  if [[ -f "$INSTALLED_FILE" && "$(cat "$INSTALLED_FILE")" == "$version" ]]; then
    log "already installed: Kafka $version in $LIBS_DIR"
    return 0
  fi

  install_build_tools
  require_java

  # Download into a fresh folder and swap it in, so that an interrupted run
  # or a version change never leaves a mix of jars in libs/.
  local staging="$STATE_DIR/libs.download" started=$SECONDS
  mkdir -p "$STATE_DIR"
  rm -rf "$staging"
  log "downloading Kafka $version and its dependencies from Maven Central with mvn"
  # Debian's Maven 3.8 prints ANSI colour codes even with -B and no terminal,
  # so sed strips them.
  mvn -q -B -f "$POM_FILE" dependency:copy-dependencies -DoutputDirectory="$staging" 2>&1 \
    | sed -e 's/\x1b\[[0-9;]*m//g' \
    || die "mvn failed to download the Kafka jars listed in $POM_FILE; see its output above"
  [[ -n "$(find "$staging" -maxdepth 1 -name "kafka_2.13-$version.jar")" ]] \
    || die "mvn finished, but kafka_2.13-$version.jar is missing from $staging"
  printf '%s\n' "$version" >"$staging/.installed-version"
  rm -rf "$LIBS_DIR"
  mv "$staging" "$LIBS_DIR"
  log "installed Kafka $version ($(find "$LIBS_DIR" -name '*.jar' | wc -l) jars) in $LIBS_DIR in $((SECONDS - started))s"
}

require_installed() {
  [[ -f "$INSTALLED_FILE" ]] || die "Kafka is not installed in $LIBS_DIR. Run: $0 install"
  local installed wanted
  installed="$(cat "$INSTALLED_FILE")"
  wanted="$(pom_kafka_version)"
  [[ "$installed" == "$wanted" ]] \
    || die "installed Kafka $installed differs from $wanted in $POM_FILE. Run: $0 install"
}

# Run a Kafka command line tool. Its warnings and errors go to standard error.
run_kafka_tool() {
  mkdir -p "$STATE_DIR"
  cat >"$TOOLS_LOG4J_FILE" <<'EOF'
# Generated by deploy/kafka/kafka.sh. Log4j 2 configuration for Kafka tools.
status = warn
name = kafka-tools
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = stderr
EOF
  "$JAVA" -Dlog4j2.configurationFile="$TOOLS_LOG4J_FILE" -cp "$LIBS_DIR/*" "$@"
}

write_log4j_config() {
  cat >"$LOG4J_FILE" <<EOF
# Generated by deploy/kafka/kafka.sh on every start. Edit the script, not this file.
# Log4j 2 configuration: INFO and above go to logs/server.log, rolled at 50 MB.
status = warn
name = kafka

appender.server.type = RollingFile
appender.server.name = server
appender.server.fileName = $SERVER_LOG
appender.server.filePattern = $SERVER_LOG.%i
appender.server.layout.type = PatternLayout
appender.server.layout.pattern = [%d] %p %m (%c)%n
appender.server.policies.type = Policies
appender.server.policies.size.type = SizeBasedTriggeringPolicy
appender.server.policies.size.size = 50MB
appender.server.strategy.type = DefaultRolloverStrategy
appender.server.strategy.max = 3

rootLogger.level = info
rootLogger.appenderRef.server.ref = server

# The request logger writes one line per request at DEBUG, so keep it at WARN.
logger.request.name = kafka.request.logger
logger.request.level = warn
EOF
}

write_server_config() {
  cat >"$CONFIG_FILE" <<EOF
# Generated by deploy/kafka/kafka.sh on every start. Edit the script, not this file.
# Single-node KRaft cluster: this node is both broker and controller.
process.roles=broker,controller
node.id=$NODE_ID
# A static quorum, so the controller port may change between starts.
controller.quorum.voters=$NODE_ID@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT

log.dirs=$DATA_DIR

# Topics are created on first use with 6 partitions, and every internal topic
# has one replica because there is one broker.
auto.create.topics.enable=true
num.partitions=6
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Consumer groups rebalance at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0

log.retention.hours=168
EOF
}

# Format the data folder with the cluster id on first start. The id is kept
# in var/kafka/cluster-id so the folder can be formatted again with the same id.
format_storage_once() {
  if [[ -s "$DATA_DIR/meta.properties" ]]; then
    return 0
  fi
  local cluster_id
  if [[ -s "$CLUSTER_ID_FILE" ]]; then
    cluster_id="$(cat "$CLUSTER_ID_FILE")"
  else
    cluster_id="$(run_kafka_tool kafka.tools.StorageTool random-uuid 2>>"$STDOUT_LOG")" \
      || die "generating a cluster id failed; see $STDOUT_LOG"
    printf '%s\n' "$cluster_id" >"$CLUSTER_ID_FILE"
  fi
  log "formatting $DATA_DIR with cluster id $cluster_id"
  run_kafka_tool kafka.tools.StorageTool format --cluster-id "$cluster_id" --config "$CONFIG_FILE" \
    >>"$STDOUT_LOG" 2>&1 \
    || die "formatting $DATA_DIR failed; see $STDOUT_LOG"
}

# Succeed when the broker returns a response to an ApiVersions request. The
# listener accepts TCP connections before the broker has finished starting,
# but it processes requests only after that. The request is ApiVersions
# version 0 (api key 18), with correlation id 1 and client id "deploy":
#   size=16 | api_key=18 | api_version=0 | correlation_id=1 | client_id="deploy"
# The response starts with its size, the correlation id 1 and error code 0.
broker_responds() {
  local port="$1" reply
  # shellcheck disable=SC2016 # $0 and $1 expand in the inner shell.
  reply="$(timeout 5 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "\x00\x00\x00\x10\x00\x12\x00\x00\x00\x00\x00\x01\x00\x06deploy" >&3
    head -c 10 <&3 | od -An -tx1' "$KAFKA_HOST" "$port" 2>/dev/null)" || return 1
  reply="${reply//[[:space:]]/}"
  [[ "$reply" =~ ^[0-9a-f]{8}000000010000$ ]]
}

# Read a listener port from the generated config, so that stop and status
# report the port the running broker was started with.
configured_port() {
  local listener="$1"
  sed -n "s|^listeners=.*$listener://[^:,]*:\([0-9]*\).*|\1|p" "$CONFIG_FILE" 2>/dev/null | head -n 1
}

cmd_start() {
  validate_port KAFKA_PORT "$KAFKA_PORT"
  validate_port KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
  validate_seconds KAFKA_START_TIMEOUT "$KAFKA_START_TIMEOUT"
  [[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] \
    || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT are both $KAFKA_PORT, but they must differ"

  local pid
  if pid="$(read_live_pid "$PID_FILE" "$PID_MARKER")"; then
    log "already running (pid $pid) on $KAFKA_HOST:$(configured_port PLAINTEXT)"
    return 0
  fi
  require_installed
  require_java

  local port
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_is_open "$KAFKA_HOST" "$port"; then
      die "port $KAFKA_HOST:$port is already in use by another process. Stop it, or set KAFKA_PORT / KAFKA_CONTROLLER_PORT to free ports"
    fi
  done

  mkdir -p "$DATA_DIR" "$LOG_DIR"
  write_log4j_config
  write_server_config
  format_storage_once

  log "starting Kafka $(cat "$INSTALLED_FILE") on $KAFKA_HOST:$KAFKA_PORT (controller $KAFKA_HOST:$KAFKA_CONTROLLER_PORT), state in $STATE_DIR"
  printf '=== %s start\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$STDOUT_LOG"
  local stdout_offset server_log_offset
  stdout_offset="$(file_size "$STDOUT_LOG")"
  server_log_offset="$(file_size "$SERVER_LOG")"
  local -a heap_options
  read -r -a heap_options <<<"$KAFKA_HEAP_OPTS"
  # Run from the state folder so that nothing lands in the caller's directory.
  pid="$(cd "$STATE_DIR" && start_detached "$PID_FILE" "$STDOUT_LOG" \
    "$JAVA" "${heap_options[@]}" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_FILE" -Dkafka.logs.dir="$LOG_DIR" \
    -cp "$LIBS_DIR/*" kafka.Kafka "$CONFIG_FILE")"

  local waited=0
  until broker_responds "$KAFKA_PORT"; do
    if ! process_alive "$pid"; then
      print_log_since 30 "$STDOUT_LOG" "$stdout_offset"
      print_log_since 30 "$SERVER_LOG" "$server_log_offset"
      rm -f "$PID_FILE"
      die "the Kafka broker (pid $pid) exited during startup; see the log lines above and $LOG_DIR"
    fi
    if ((waited >= KAFKA_START_TIMEOUT)); then
      print_log_since 30 "$STDOUT_LOG" "$stdout_offset"
      print_log_since 30 "$SERVER_LOG" "$server_log_offset"
      stop_process "$pid" 60 "Kafka broker"
      rm -f "$PID_FILE"
      die "the Kafka broker did not respond on $KAFKA_HOST:$KAFKA_PORT within ${KAFKA_START_TIMEOUT}s; stopped it. See $LOG_DIR"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "started (pid $pid) in ${waited}s"
}

cmd_stop() {
  local pid
  if ! pid="$(read_live_pid "$PID_FILE" "$PID_MARKER")"; then
    log "not running"
    rm -f "$PID_FILE"
    return 0
  fi
  # A single-node controlled shutdown takes a few seconds.
  stop_process "$pid" 120 "Kafka broker"
  rm -f "$PID_FILE"
}

# Exit 0 when the broker runs and responds, 1 when it runs but does not
# respond, and 3 when it is not running (the LSB status codes).
cmd_status() {
  local pid port
  if ! pid="$(read_live_pid "$PID_FILE" "$PID_MARKER")"; then
    log "not running"
    exit 3
  fi
  port="$(configured_port PLAINTEXT)"
  if ! broker_responds "$port"; then
    log "process runs (pid $pid) but the broker does not respond on $KAFKA_HOST:$port; see $LOG_DIR"
    exit 1
  fi
  log "running (pid $pid) on $KAFKA_HOST:$port, controller on $KAFKA_HOST:$(configured_port CONTROLLER), state in $STATE_DIR"
}

# Run Kafka's topic tool against the running broker, for example:
#   deploy/kafka/kafka.sh topics --list
cmd_topics() {
  require_installed
  require_java
  read_live_pid "$PID_FILE" "$PID_MARKER" >/dev/null || die "the broker is not running. Run: $0 start"
  run_kafka_tool org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$KAFKA_HOST:$(configured_port PLAINTEXT)" "$@"
}

main() {
  local command="${1:-}"
  shift || true
  case "$command" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    topics) cmd_topics "$@" ;;
    *) die "usage: $0 install|start|stop|status, or $0 topics [TopicCommand options]" ;;
  esac
}

main "$@"
