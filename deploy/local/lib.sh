# shellcheck shell=bash
# Common helpers for deploy/local/*.sh. Sourced, never executed.
#
# Layout:
#   ${NEWSMON_CACHE:-$HOME/.cache/newsmon}          downloads (maven repo, kafka libs, assembled ES home)
#   ${NEWSMON_RUN_DIR:-/tmp/newsmon-services}/<svc>  runtime state (config, data, logs, pid file)

# shellcheck disable=SC2034  # used by the scripts that source this file
NEWSMON_LOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NEWSMON_CACHE="${NEWSMON_CACHE:-${HOME:-/root}/.cache/newsmon}"
NEWSMON_RUN_DIR="${NEWSMON_RUN_DIR:-/tmp/newsmon-services}"
NEWSMON_KEEP_DATA="${NEWSMON_KEEP_DATA:-0}"
# maven-dependency-plugin pinned: Maven 3.8's default (2.8) is too old for copy-dependencies options used here.
NEWSMON_MVN_DEP_PLUGIN="${NEWSMON_MVN_DEP_PLUGIN:-org.apache.maven.plugins:maven-dependency-plugin:3.8.1}"
NEWSMON_M2_REPO="${NEWSMON_M2_REPO:-$NEWSMON_CACHE/m2}"

log() { printf '[newsmon-services] %s\n' "$*" >&2; }
die() { printf '[newsmon-services] ERROR: %s\n' "$*" >&2; exit 1; }

# now_s: wall clock with sub-second precision (bash 5 EPOCHREALTIME).
now_s() { printf '%s' "${EPOCHREALTIME:-$(date +%s)}"; }
# elapsed START -> "12.3"
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# port_open PORT: true if something accepts TCP connections on 127.0.0.1:PORT
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pid_alive PIDFILE MARKER: true if the pid in PIDFILE is running and its command line contains MARKER
pid_alive() {
    local pidfile="$1" marker="$2" pid
    [[ -s "$pidfile" ]] || return 1
    pid="$(<"$pidfile")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"
}

# stop_pid NAME PIDFILE MARKER TIMEOUT: SIGTERM, wait up to TIMEOUT s, then SIGKILL. Idempotent.
stop_pid() {
    local name="$1" pidfile="$2" marker="$3" timeout="$4" pid start i
    if ! pid_alive "$pidfile" "$marker"; then
        rm -f "$pidfile"
        log "$name is not running"
        return 0
    fi
    pid="$(<"$pidfile")"
    start="$(now_s)"
    log "stopping $name (pid $pid, SIGTERM)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 5; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name did not stop within ${timeout}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -f "$pidfile"
    log "$name stopped in $(elapsed "$start")s"
}

# fail_start NAME LOGFILE REASON: print the last 40 lines of the server log and exit non-zero
fail_start() {
    local name="$1" logfile="$2" reason="$3"
    if [[ -f "$logfile" ]]; then
        printf '%s\n' "----- last 40 lines of $logfile -----" >&2
        tail -n 40 "$logfile" >&2
        printf '%s\n' "-----" >&2
    fi
    die "$name failed to start: $reason"
}

# mvn_copy_deps POM OUTDIR LOGFILE [-Dprop=value...]: resolve the runtime closure of POM into OUTDIR
mvn_copy_deps() {
    local pom="$1" out="$2" logfile="$3"
    shift 3
    command -v mvn >/dev/null || die "mvn not found on PATH (needed once to download from Maven Central)"
    mkdir -p "$NEWSMON_M2_REPO" "$(dirname "$logfile")"
    if ! mvn -B -ntp -f "$pom" -Dmaven.repo.local="$NEWSMON_M2_REPO" "$@" \
        "$NEWSMON_MVN_DEP_PLUGIN:copy-dependencies" \
        -DoutputDirectory="$out" -DincludeScope=runtime >"$logfile" 2>&1; then
        grep -E '^\[ERROR\]' "$logfile" | head -n 20 >&2 || tail -n 20 "$logfile" >&2
        die "maven could not resolve $pom (full log: $logfile)"
    fi
}

# start_detached PIDFILE LOGFILE CMD...: run CMD in its own session, stdin </dev/null,
# stdout+stderr appended to LOGFILE; the pid written to PIDFILE is the pid of CMD itself.
start_detached() {
    local pidfile="$1" logfile="$2"
    shift 2
    # bash writes its own pid, then execs CMD, so the pid stays the same.
    # shellcheck disable=SC2016  # $$ and $@ are expanded by the inner bash
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 &
}

# wait_for_pidfile PIDFILE: wait (max 5 s) until start_detached wrote the pid file
wait_for_pidfile() {
    local i
    for ((i = 0; i < 50; i++)); do
        [[ -s "$1" ]] && return 0
        sleep 0.1
    done
    return 1
}

# wait_ready NAME PIDFILE MARKER LOGFILE TIMEOUT INTERVAL WHAT CHECK...: after start_detached, wait until the
# command CHECK... succeeds; the process exiting, or TIMEOUT seconds passing (the process is then stopped),
# fails the start with the end of its log ("WHAT not ready after TIMEOUTs"). Prints the pid.
wait_ready() {
    local name="$1" pidfile="$2" marker="$3" logfile="$4" timeout="$5" interval="$6" what="$7"
    shift 7
    wait_for_pidfile "$pidfile" || fail_start "$name" "$logfile" "no pid file written"
    local pid deadline
    pid="$(<"$pidfile")"
    deadline=$((SECONDS + timeout))
    until "$@"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$pidfile"
            fail_start "$name" "$logfile" "process $pid exited"
        fi
        if ((SECONDS >= deadline)); then
            stop_pid "$name" "$pidfile" "$marker" 5 || true
            fail_start "$name" "$logfile" "$what not ready after ${timeout}s"
        fi
        sleep "$interval"
    done
    printf '%s' "$pid"
}
