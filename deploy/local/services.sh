#!/usr/bin/env bash
# Local Kafka + Elasticsearch for newsmon integration tests, without Docker.
#
#   deploy/local/services.sh {up|down|restart|status|fetch} [kafka|elasticsearch|all]
#
#   up       download once into the cache, start with fresh data (NEWSMON_KEEP_DATA=1 keeps it),
#            wait until ready; idempotent (already running -> exit 0)
#   down     SIGTERM, wait, SIGKILL; idempotent
#   restart  down + up keeping the data (e.g. restart the broker mid-stream)
#   status   exit 0 if every selected service runs, 3 otherwise
#   fetch    only download/assemble into the cache (no network needed afterwards)
#
# Environment: see deploy/local/README.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=kafka.sh
source "$here/kafka.sh"
# shellcheck source-path=SCRIPTDIR source=elasticsearch.sh
source "$here/elasticsearch.sh"

usage() {
    echo "usage: $0 {up|down|restart|status|fetch} [kafka|elasticsearch|all]" >&2
    exit 2
}

action="${1:-}"
target="${2:-all}"
case "$action" in up | down | restart | status | fetch) ;; *) usage ;; esac
case "$target" in
kafka) services=(kafka) ;;
elasticsearch | es) services=(es) ;;
all) services=(kafka es) ;;
*) usage ;;
esac

rc=0
case "$action" in
up | restart | fetch)
    # stop at the first failure (the failing function exits with a reason)
    for s in "${services[@]}"; do "${s}_$action"; done
    ;;
down)
    # stop everything even if one of them fails to stop
    for ((i = ${#services[@]} - 1; i >= 0; i--)); do "${services[i]}_down" || rc=1; done
    ;;
status)
    for s in "${services[@]}"; do "${s}_status" || rc=3; done
    ;;
esac
exit "$rc"
