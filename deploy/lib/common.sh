# shellcheck shell=bash
# Helpers shared by the deploy scripts. Source this file from a script that
# has set LOG_TAG. It sets REPO_ROOT and VAR_DIR from its own location, so the
# scripts work from any working directory and from any clone. DEPLOY_VAR_DIR
# moves the state elsewhere, so that a second set of services (with other
# ports) can run beside the first, as the fault-injection tests do.

# shellcheck disable=SC2034 # Used by the scripts that source this file.
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "$DEPLOY_DIR/.." && pwd)"
# shellcheck disable=SC2034
VAR_DIR="${DEPLOY_VAR_DIR:-$REPO_ROOT/var}"

log() {
  printf '[%s] %s\n' "${LOG_TAG:-deploy}" "$*"
}

warn() {
  printf '[%s] warning: %s\n' "${LOG_TAG:-deploy}" "$*" >&2
}

die() {
  printf '[%s] error: %s\n' "${LOG_TAG:-deploy}" "$*" >&2
  exit 1
}

require_command() {
  local name="$1" hint="$2"
  command -v "$name" >/dev/null 2>&1 || die "command '$name' not found. $hint"
}

# Succeed when PID is a live process, so not a zombie: a child started by this
# shell that has exited stays a zombie until it is reaped, and kill -0 still
# succeeds on it.
process_alive() {
  local pid="$1" state
  kill -0 "$pid" 2>/dev/null || return 1
  # The state follows the command name, which is in brackets and may contain spaces.
  state="$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

# Print the pid stored in PID_FILE when that process is alive and its command
# line contains MARKER, so a stale pid reused by another program is ignored.
# Returns 1 when no such process runs.
read_live_pid() {
  local pid_file="$1" marker="$2" pid
  [[ -s "$pid_file" ]] || return 1
  pid="$(tr -dc '0-9' <"$pid_file")"
  [[ -n "$pid" ]] || return 1
  process_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker" || return 1
  printf '%s\n' "$pid"
}

# Start COMMAND in a new session so that it outlives this script, with its
# standard output and error appended to LOG_FILE, and write its pid to PID_FILE.
# The pid is that of COMMAND itself because the wrapper shell execs it.
start_detached() {
  local pid_file="$1" log_file="$2" waited=0
  shift 2
  rm -f "$pid_file"
  # shellcheck disable=SC2016 # $$ and $@ expand in the wrapper shell.
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pid_file" "$@" </dev/null >>"$log_file" 2>&1 &
  while [[ ! -s "$pid_file" ]]; do
    ((waited < 50)) || die "no pid file $pid_file after 5s: starting '$1' failed, see $log_file"
    sleep 0.1
    waited=$((waited + 1))
  done
  tr -dc '0-9' <"$pid_file"
}

# Succeed when a TCP connection to HOST:PORT is accepted within 2 seconds.
port_is_open() {
  local host="$1" port="$2"
  timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null
}

validate_port() {
  local name="$1" value="$2"
  if ! [[ "$value" =~ ^[1-9][0-9]{0,4}$ ]] || ((value > 65535)); then
    die "invalid $name '$value': expected a TCP port number from 1 to 65535"
  fi
}

validate_seconds() {
  local name="$1" value="$2"
  [[ "$value" =~ ^(0|[1-9][0-9]{0,5})$ ]] \
    || die "invalid $name '$value': expected a whole number of seconds"
}

# Send SIGTERM to PID and wait up to TIMEOUT seconds for it to exit, then send
# SIGKILL. NAME is used in messages.
stop_process() {
  local pid="$1" timeout_seconds="$2" name="$3" waited=0
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  while process_alive "$pid"; do
    if ((waited >= timeout_seconds)); then
      warn "$name (pid $pid) did not exit within ${timeout_seconds}s after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 1
    waited=$((waited + 1))
  done
  process_alive "$pid" && die "$name (pid $pid) is still running after SIGKILL"
  log "$name stopped after ${waited}s"
}

# Print the size in bytes of FILE, or 0 when it does not exist yet.
file_size() {
  stat -c %s "$1" 2>/dev/null || echo 0
}

# Print up to LINES of the lines appended to FILE after it had OFFSET bytes,
# so that a failed start shows its own log lines and not those of earlier
# runs. A file smaller than OFFSET was rotated, and its last lines are shown.
print_log_since() {
  local lines="$1" file="$2" offset="$3" text
  [[ -s "$file" ]] || return 0
  if (($(file_size "$file") < offset)); then
    offset=0
  fi
  text="$(tail -c "+$((offset + 1))" "$file" | tail -n "$lines")"
  [[ -n "$text" ]] || return 0
  printf '[%s] last lines of %s:\n%s\n' "${LOG_TAG:-deploy}" "$file" "$text" >&2
}
