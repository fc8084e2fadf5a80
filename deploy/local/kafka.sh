#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) from Maven Central jars.
#
#   deploy/local/kafka.sh {fetch|up|down|restart|status}
#
# Usually called through deploy/local/services.sh. See deploy/local/README.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

kafka_init() {
    KAFKA_VERSION="${NEWSMON_KAFKA_VERSION:-4.4.0}"
    # log4j version of the SLF4J-1 binding; 2.25.5 is what kafka-server 4.4.0 itself depends on.
    KAFKA_LOG4J_VERSION="${NEWSMON_KAFKA_LOG4J_VERSION:-2.25.5}"
    KAFKA_PORT="${NEWSMON_KAFKA_PORT:-19092}"
    KAFKA_CONTROLLER_PORT="${NEWSMON_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
    KAFKA_HEAP_OPTS="${NEWSMON_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
    KAFKA_START_TIMEOUT="${NEWSMON_KAFKA_START_TIMEOUT:-120}"
    KAFKA_STOP_TIMEOUT="${NEWSMON_KAFKA_STOP_TIMEOUT:-30}"
    if [[ -n "${NEWSMON_KAFKA_JAVA_HOME:-}" ]]; then
        KAFKA_JAVA="$NEWSMON_KAFKA_JAVA_HOME/bin/java"
    else
        KAFKA_JAVA="$(command -v java || true)"
    fi
    KAFKA_LIBS="$NEWSMON_CACHE/kafka-$KAFKA_VERSION-log4j-$KAFKA_LOG4J_VERSION/libs"
    KAFKA_RUN="$NEWSMON_RUN_DIR/kafka"
    KAFKA_DATA="$KAFKA_RUN/data"
    KAFKA_LOG="$KAFKA_RUN/logs/server.log"
    KAFKA_PIDFILE="$KAFKA_RUN/kafka.pid"
    KAFKA_CONFIG="$KAFKA_RUN/server.properties"
    # Process marker used to make sure a pid file really points at our broker.
    KAFKA_MARKER="$KAFKA_CONFIG"
}

kafka_fetch() {
    kafka_init
    if [[ -f "$KAFKA_LIBS/.complete" ]]; then
        return 0
    fi
    local start tmp
    start="$(now_s)"
    log "kafka: downloading kafka_2.13:$KAFKA_VERSION + log4j-slf4j-impl:$KAFKA_LOG4J_VERSION from Maven Central"
    tmp="$KAFKA_LIBS.tmp.$$"
    rm -rf "$tmp"
    mvn_copy_deps "$NEWSMON_LOCAL_DIR/kafka-pom.xml" "$tmp" "$NEWSMON_CACHE/logs/kafka-fetch.log" \
        -Dkafka.version="$KAFKA_VERSION" -Dlog4j.version="$KAFKA_LOG4J_VERSION"
    ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "kafka: kafka_2.13-$KAFKA_VERSION.jar missing after download"
    touch "$tmp/.complete"
    rm -rf "$KAFKA_LIBS"
    mv "$tmp" "$KAFKA_LIBS"
    log "kafka: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars cached in $KAFKA_LIBS ($(elapsed "$start")s)"
}

kafka_java_opts() {
    # shellcheck disable=SC2206  # heap opts are intentionally word-split
    KAFKA_JAVA_OPTS=($KAFKA_HEAP_OPTS
        -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
        -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
        "-Dlog4j2.configurationFile=$NEWSMON_LOCAL_DIR/log4j2.properties"
        "-Dkafka.logs.dir=$KAFKA_RUN/logs"
        -cp "$KAFKA_LIBS/*")
}

kafka_render_config() {
    sed -e "s|@PORT@|$KAFKA_PORT|g" \
        -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
        -e "s|@DATA_DIR@|$KAFKA_DATA|g" \
        "$NEWSMON_LOCAL_DIR/kafka-server.properties.in" >"$KAFKA_CONFIG"
}

# random_cluster_id: 16 random bytes, base64url without padding (same shape as StorageTool random-uuid)
random_cluster_id() {
    local id
    while :; do
        id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
        [[ "$id" != -* ]] && break # Kafka avoids ids starting with '-' (CLI parsing)
    done
    printf '%s' "$id"
}

kafka_status() {
    kafka_init
    if pid_alive "$KAFKA_PIDFILE" "$KAFKA_MARKER"; then
        echo "kafka: running (pid $(<"$KAFKA_PIDFILE")) on 127.0.0.1:$KAFKA_PORT, log $KAFKA_LOG"
        return 0
    fi
    echo "kafka: stopped"
    return 3
}

kafka_up() {
    kafka_init
    if pid_alive "$KAFKA_PIDFILE" "$KAFKA_MARKER"; then
        log "kafka: already running (pid $(<"$KAFKA_PIDFILE")) on 127.0.0.1:$KAFKA_PORT"
        return 0
    fi
    rm -f "$KAFKA_PIDFILE"
    [[ -x "$KAFKA_JAVA" ]] || die "kafka: java not found (set NEWSMON_KAFKA_JAVA_HOME)"
    local p
    for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        port_open "$p" && die "kafka: port $p on 127.0.0.1 is already in use by another process"
    done

    local start
    start="$(now_s)"
    kafka_fetch
    mkdir -p "$KAFKA_RUN/logs"
    kafka_render_config
    kafka_java_opts

    if [[ "$NEWSMON_KEEP_DATA" != 1 ]]; then
        rm -rf "$KAFKA_DATA"
    fi
    if [[ ! -f "$KAFKA_DATA/meta.properties" ]]; then
        mkdir -p "$KAFKA_DATA"
        local cid
        cid="$(random_cluster_id)"
        if ! "$KAFKA_JAVA" "${KAFKA_JAVA_OPTS[@]}" kafka.tools.StorageTool format \
            -t "$cid" -c "$KAFKA_CONFIG" >"$KAFKA_RUN/logs/format.log" 2>&1; then
            fail_start kafka "$KAFKA_RUN/logs/format.log" "storage format failed"
        fi
        log "kafka: formatted $KAFKA_DATA (cluster id $cid)"
    else
        log "kafka: keeping data in $KAFKA_DATA"
    fi

    # Each start gets a fresh log so the readiness grep only sees this run.
    [[ -f "$KAFKA_LOG" ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.previous"
    : >"$KAFKA_LOG"
    start_detached "$KAFKA_PIDFILE" "$KAFKA_LOG" \
        "$KAFKA_JAVA" "${KAFKA_JAVA_OPTS[@]}" kafka.Kafka "$KAFKA_CONFIG"
    local pid
    pid="$(wait_ready kafka "$KAFKA_PIDFILE" "$KAFKA_MARKER" "$KAFKA_LOG" "$KAFKA_START_TIMEOUT" 0.2 broker kafka_ready)"
    log "kafka: $KAFKA_VERSION ready on 127.0.0.1:$KAFKA_PORT (pid $pid) in $(elapsed "$start")s"
}

kafka_ready() {
    grep -q 'Kafka Server started' "$KAFKA_LOG" && port_open "$KAFKA_PORT"
}

kafka_down() {
    kafka_init
    stop_pid kafka "$KAFKA_PIDFILE" "$KAFKA_MARKER" "$KAFKA_STOP_TIMEOUT"
}

# restart keeps the data (a test restarts the broker mid-stream)
kafka_restart() {
    kafka_down
    NEWSMON_KEEP_DATA=1 kafka_up
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    case "${1:-}" in
    fetch | up | down | restart | status) "kafka_$1" ;;
    *)
        echo "usage: $0 {fetch|up|down|restart|status}" >&2
        exit 2
        ;;
    esac
fi
