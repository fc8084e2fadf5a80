#!/usr/bin/env bash
# Local single-node Elasticsearch 9.x assembled from Maven Central jars.
#
#   deploy/local/elasticsearch.sh {fetch|up|down|restart|status}
#
# Usually called through deploy/local/services.sh. See deploy/local/README.md for why the node is
# assembled (server jar + transport-netty4 module + es-launcher/NewsmonEsNode.java) instead of
# unzipping the integ-test-zip distribution (not published to Maven Central for 9.x).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

ES_USER="${NEWSMON_ES_USER:-newsmon-es}"

es_init() {
    ES_VERSION="${NEWSMON_ES_VERSION:-9.5.3}"
    ES_PORT="${NEWSMON_ES_PORT:-19200}"
    ES_TRANSPORT_PORT="${NEWSMON_ES_TRANSPORT_PORT:-$((ES_PORT + 100))}"
    ES_HEAP="${NEWSMON_ES_HEAP:-512m}"
    ES_START_TIMEOUT="${NEWSMON_ES_START_TIMEOUT:-180}"
    ES_STOP_TIMEOUT="${NEWSMON_ES_STOP_TIMEOUT:-30}"
    ES_CACHE_HOME="$NEWSMON_CACHE/elasticsearch-$ES_VERSION"
    ES_RUN="$NEWSMON_RUN_DIR/elasticsearch"
    ES_CONF="$ES_RUN/config"
    ES_DATA="$ES_RUN/data"
    ES_LOGS="$ES_RUN/logs"
    ES_TMP="$ES_RUN/tmp"
    ES_LOG="$ES_LOGS/server.log"
    ES_PIDFILE="$ES_RUN/elasticsearch.pid"
    ES_MARKER="-Des.path.conf=$ES_CONF"
    ES_LAUNCHER_SRC="$NEWSMON_LOCAL_DIR/es-launcher/NewsmonEsNode.java"
}

# java_major JAVA_HOME -> major version from $JAVA_HOME/release (empty if unknown)
java_major() {
    local v
    v="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null || true)"
    printf '%s' "$v"
}

# es_detect_java: sets ES_JAVA_HOME_DIR to a JDK >= 21 with javac (ES 9.x needs Java 21+).
# Order: NEWSMON_ES_JAVA_HOME, ES_JAVA_HOME, newest /usr/lib/jvm/temurin-*, newest other /usr/lib/jvm/*.
es_detect_java() {
    local cand best="" best_major=0 major
    for cand in "${NEWSMON_ES_JAVA_HOME:-}" "${ES_JAVA_HOME:-}"; do
        [[ -n "$cand" ]] || continue
        [[ -x "$cand/bin/java" && -x "$cand/bin/javac" ]] || die "elasticsearch: $cand is not a JDK (needs bin/java and bin/javac)"
        major="$(java_major "$cand")"
        if [[ -n "$major" ]] && ((major < 21)); then
            die "elasticsearch: $cand is Java $major, Elasticsearch 9.x needs Java 21+"
        fi
        ES_JAVA_HOME_DIR="$cand"
        return 0
    done
    # prefer Temurin, then the highest major version
    for cand in /usr/lib/jvm/temurin-* /usr/lib/jvm/*; do
        [[ -d "$cand" && -x "$cand/bin/java" && -x "$cand/bin/javac" ]] || continue
        major="$(java_major "$cand")"
        [[ -n "$major" ]] || continue
        if ((major >= 21 && major > best_major)); then
            best="$cand"
            best_major="$major"
        fi
    done
    [[ -n "$best" ]] || die "elasticsearch: no JDK >= 21 found under /usr/lib/jvm (set NEWSMON_ES_JAVA_HOME)"
    ES_JAVA_HOME_DIR="$best"
}

es_fetch() {
    es_init
    es_detect_java
    if [[ ! -f "$ES_CACHE_HOME/.complete" ]]; then
        local start tmp mod jar
        start="$(now_s)"
        log "elasticsearch: downloading org.elasticsearch:elasticsearch:$ES_VERSION + transport-netty4 from Maven Central"
        tmp="$ES_CACHE_HOME.tmp.$$"
        rm -rf "$tmp"
        mod="$tmp/modules/transport-netty4"
        mvn_copy_deps "$NEWSMON_LOCAL_DIR/es-pom.xml" "$tmp/lib" "$NEWSMON_CACHE/logs/es-fetch-server.log" \
            -Pserver -Des.version="$ES_VERSION"
        mvn_copy_deps "$NEWSMON_LOCAL_DIR/es-pom.xml" "$mod" "$NEWSMON_CACHE/logs/es-fetch-transport.log" \
            -Ptransport -Des.version="$ES_VERSION"
        [[ -f "$tmp/lib/elasticsearch-$ES_VERSION.jar" ]] || die "elasticsearch: server jar missing after download"
        # a jar must not be both on the server class path and in the module (jar hell)
        for jar in "$mod"/*.jar; do
            if [[ -e "$tmp/lib/$(basename "$jar")" ]]; then rm -f "$jar"; fi
        done
        # the module descriptor and entitlement policy ship inside the plugin jar
        (cd "$mod" && "$ES_JAVA_HOME_DIR/bin/jar" xf "transport-netty4-$ES_VERSION.jar" \
            META-INF/es-plugins/transport-netty4/plugin-descriptor.properties \
            META-INF/es-plugins/transport-netty4/entitlement-policy.yaml)
        # modulename= removed: the server runs on the class path, so the module is loaded by a plain
        # class loader instead of a module layer that would need the org.elasticsearch.server module.
        grep -v '^modulename=' "$mod/META-INF/es-plugins/transport-netty4/plugin-descriptor.properties" \
            >"$mod/plugin-descriptor.properties"
        mv "$mod/META-INF/es-plugins/transport-netty4/entitlement-policy.yaml" "$mod/"
        rm -rf "$mod/META-INF"
        mkdir -p "$tmp/plugins"
        touch "$tmp/.complete"
        rm -rf "$ES_CACHE_HOME"
        mv "$tmp" "$ES_CACHE_HOME"
        log "elasticsearch: cached in $ES_CACHE_HOME ($(du -sh "$ES_CACHE_HOME" | cut -f1), $(elapsed "$start")s)"
    fi
    es_compile_launcher
}

# es_compile_launcher: compile NewsmonEsNode.java against the cached jars (once per source version)
es_compile_launcher() {
    local sum
    sum="$(sha256sum "$ES_LAUNCHER_SRC" | cut -c1-12)"
    ES_LAUNCHER_DIR="$ES_CACHE_HOME/launcher-$sum"
    [[ -f "$ES_LAUNCHER_DIR/NewsmonEsNode.class" ]] && return 0
    local tmp="$ES_LAUNCHER_DIR.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp" "$NEWSMON_CACHE/logs"
    if ! "$ES_JAVA_HOME_DIR/bin/javac" -nowarn -d "$tmp" -cp "$ES_CACHE_HOME/lib/*" "$ES_LAUNCHER_SRC" \
        >"$NEWSMON_CACHE/logs/es-launcher-javac.log" 2>&1; then
        cat "$NEWSMON_CACHE/logs/es-launcher-javac.log" >&2
        die "elasticsearch: cannot compile $ES_LAUNCHER_SRC against Elasticsearch $ES_VERSION"
    fi
    rm -rf "$ES_LAUNCHER_DIR"
    mv "$tmp" "$ES_LAUNCHER_DIR"
}

# es_as_user CMD...: run CMD as the unprivileged user when we are root (exec, same pid)
es_as_user() {
    if ((EUID == 0)); then
        setpriv --reuid="$ES_USER" --regid="$ES_USER" --init-groups -- "$@"
    else
        "$@"
    fi
}

es_ensure_user() {
    ((EUID == 0)) || return 0
    id -u "$ES_USER" >/dev/null 2>&1 && return 0
    command -v useradd >/dev/null || die "elasticsearch: useradd not found, cannot create user $ES_USER"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$ES_USER"
    log "elasticsearch: created system user $ES_USER (Elasticsearch is not run as root)"
}

# es_runtime_home: the ES home the server process can read. The cache is usually under /root
# (mode 700) when we are root, so the home is staged into the run dir with hard links (or a copy).
es_runtime_home() {
    ES_HOME_DIR="$ES_CACHE_HOME"
    if es_as_user test -r "$ES_CACHE_HOME/lib/elasticsearch-$ES_VERSION.jar" 2>/dev/null &&
        es_as_user test -r "$ES_LAUNCHER_DIR/NewsmonEsNode.class" 2>/dev/null; then
        return 0
    fi
    local staged="$ES_RUN/home-$ES_VERSION" stamp
    stamp="$(basename "$ES_LAUNCHER_DIR")"
    ES_HOME_DIR="$staged"
    ES_LAUNCHER_DIR="$staged/$stamp"
    [[ -f "$staged/.staged-$stamp" ]] && return 0
    rm -rf "$staged"
    mkdir -p "$ES_RUN"
    cp -al "$ES_CACHE_HOME" "$staged" 2>/dev/null || {
        rm -rf "$staged"
        cp -a "$ES_CACHE_HOME" "$staged"
    }
    chmod -R a+rX "$staged"
    touch "$staged/.staged-$stamp"
}

es_render_config() {
    mkdir -p "$ES_CONF" "$ES_LOGS" "$ES_TMP" "$ES_DATA"
    sed -e "s|@HTTP_PORT@|$ES_PORT|g" \
        -e "s|@TRANSPORT_PORT@|$ES_TRANSPORT_PORT|g" \
        -e "s|@DATA_DIR@|$ES_DATA|g" \
        -e "s|@LOGS_DIR@|$ES_LOGS|g" \
        "$NEWSMON_LOCAL_DIR/elasticsearch.yml.in" >"$ES_CONF/elasticsearch.yml"
    cp "$NEWSMON_LOCAL_DIR/es-log4j2.properties" "$ES_CONF/log4j2.properties"
    if ((EUID == 0)); then
        chown -R "$ES_USER:$ES_USER" "$ES_CONF" "$ES_LOGS" "$ES_TMP" "$ES_DATA"
    fi
}

es_health() {
    curl -s --max-time 5 "http://127.0.0.1:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null || true
}

es_status() {
    es_init
    if pid_alive "$ES_PIDFILE" "$ES_MARKER"; then
        local status
        status="$(es_health | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')"
        echo "elasticsearch: running (pid $(<"$ES_PIDFILE")) on http://127.0.0.1:$ES_PORT, health ${status:-unknown}, log $ES_LOG"
        return 0
    fi
    echo "elasticsearch: stopped"
    return 3
}

es_up() {
    es_init
    if pid_alive "$ES_PIDFILE" "$ES_MARKER"; then
        log "elasticsearch: already running (pid $(<"$ES_PIDFILE")) on http://127.0.0.1:$ES_PORT"
        return 0
    fi
    rm -f "$ES_PIDFILE"
    command -v curl >/dev/null || die "elasticsearch: curl is required for the readiness check"
    local p
    for p in "$ES_PORT" "$ES_TRANSPORT_PORT"; do
        port_open "$p" && die "elasticsearch: port $p on 127.0.0.1 is already in use by another process"
    done

    local start
    start="$(now_s)"
    es_fetch
    es_ensure_user
    es_runtime_home
    if [[ "$NEWSMON_KEEP_DATA" != 1 ]]; then
        rm -rf "$ES_DATA"
    fi
    es_render_config

    [[ -f "$ES_LOG" ]] && mv -f "$ES_LOG" "$ES_LOG.previous"
    : >"$ES_LOG"
    local -a cmd
    # shellcheck disable=SC2206  # NEWSMON_ES_JAVA_OPTS is intentionally word-split
    cmd=(env -i "PATH=/usr/bin:/bin" "HOME=$ES_TMP" "LANG=C.UTF-8"
        "$ES_JAVA_HOME_DIR/bin/java"
        "-Xms$ES_HEAP" "-Xmx$ES_HEAP" -Xss1m -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow
        -Djava.awt.headless=true -Dfile.encoding=UTF-8 -Djava.locale.providers=CLDR
        -Des.networkaddress.cache.ttl=60 -Des.networkaddress.cache.negative.ttl=10
        -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true -Dio.netty.recycler.maxCapacityPerThread=0
        -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Dlog4j2.formatMsgNoLookups=true
        --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED
        "-Djava.io.tmpdir=$ES_TMP" "-Des.path.home=$ES_HOME_DIR" "$ES_MARKER"
        ${NEWSMON_ES_JAVA_OPTS:-}
        -cp "$ES_LAUNCHER_DIR:$ES_HOME_DIR/lib/*" NewsmonEsNode)
    if ((EUID == 0)); then
        cmd=(setpriv --reuid="$ES_USER" --regid="$ES_USER" --init-groups -- "${cmd[@]}")
    fi
    start_detached "$ES_PIDFILE" "$ES_LOG" "${cmd[@]}"
    local pid
    pid="$(wait_ready elasticsearch "$ES_PIDFILE" "$ES_MARKER" "$ES_LOG" "$ES_START_TIMEOUT" 0.3 "cluster health" es_ready)"
    log "elasticsearch: $ES_VERSION ready on http://127.0.0.1:$ES_PORT (pid $pid, java $(java_major "$ES_JAVA_HOME_DIR") from $ES_JAVA_HOME_DIR) in $(elapsed "$start")s"
}

# ready once the cluster health answers yellow or green
es_ready() {
    local health
    port_open "$ES_PORT" || return 1
    health="$(es_health)"
    [[ "$health" == *'"timed_out":false'* && "$health" =~ \"status\":\"(yellow|green)\" ]]
}

es_down() {
    es_init
    stop_pid elasticsearch "$ES_PIDFILE" "$ES_MARKER" "$ES_STOP_TIMEOUT"
}

es_restart() {
    es_down
    NEWSMON_KEEP_DATA=1 es_up
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    case "${1:-}" in
    fetch | up | down | restart | status) "es_$1" ;;
    *)
        echo "usage: $0 {fetch|up|down|restart|status}" >&2
        exit 2
        ;;
    esac
fi
