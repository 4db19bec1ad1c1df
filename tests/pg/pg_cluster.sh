#!/usr/bin/env bash
# The PostgreSQL cluster of the tests (docs/testing.md): a private cluster in DIR (or in /tmp
# when its owner cannot reach DIR), on a free port of 127.0.0.1 only, with a database
# actiondrop_test. CTest runs `start` before the PostgreSQL runs of the tests and `stop`
# after them.
#   pg_cluster.sh start DIR   writes the base URL to DIR/url
#   pg_cluster.sh stop DIR    stops the cluster and removes DIR
#   pg_cluster.sh bin         prints the folder of pg_ctl and initdb it uses (for the tests that
#                             run a private cluster of their own)
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR, or $0 bin" >&2; exit 64; }
ACTION=${1:-}
if [ "$ACTION" = bin ]; then
    [ $# -eq 1 ] || usage
else
    [ $# -eq 2 ] || usage
    DIR=$2
    case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac
fi

PG_BIN=${PG_BIN:-}
if [ -z "$PG_BIN" ]; then
    # The newest version installed (Debian's layout).
    for candidate in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V); do
        [ -x "$candidate/pg_ctl" ] && PG_BIN=$candidate
    done
fi
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/pg_ctl" ] || {
    echo "pg_cluster: no pg_ctl found: run deploy/install-deps.sh --test, or set PG_BIN" >&2
    exit 1
}
if [ "$ACTION" = bin ]; then
    echo "$PG_BIN"
    exit 0
fi

# initdb and pg_ctl refuse to run as root: as root, the cluster belongs to the postgres user.
if [ "$(id -u)" = 0 ]; then
    OWNER=postgres
    as_owner() { runuser -u postgres -- "$@"; }
else
    OWNER=$(id -un)
    as_owner() { "$@"; }
fi

# The cluster's folder: DIR itself, or, when the owner cannot reach DIR (a build tree under
# a home folder of mode 0700), a folder under /tmp that DIR/place names.
place_of() {
    local place
    place=$(cat "$DIR/place" 2> /dev/null || true)
    case "$place" in /tmp/actiondrop-pg.*) echo "$place" ;; *) echo "$DIR" ;; esac
}

stop_cluster() {
    local place
    place=$(place_of)
    if [ -f "$place/data/postmaster.pid" ]; then
        as_owner "$PG_BIN/pg_ctl" -D "$place/data" -m fast -w stop > /dev/null 2>&1 || true
        # pg_ctl gives up on a server it cannot reach; its pid file still names it.
        local pid
        pid=$(head -n 1 "$place/data/postmaster.pid" 2> /dev/null || true)
        if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2> /dev/null)" = postgres ]; then
            kill -9 "$pid" 2> /dev/null || true
            while kill -0 "$pid" 2> /dev/null; do sleep 0.1; done
        fi
    fi
    rm -rf "$place" "$DIR"
}

# A port nothing on 127.0.0.1 answers on, below the range the kernel gives outgoing
# connections (a port in that range can be taken by any connection while the server
# restarts, as some tests make it); if another process takes it first, the start fails and
# the next try picks another one.
free_port() {
    local port low
    read -r low _ < /proc/sys/net/ipv4/ip_local_port_range
    while :; do
        port=$((10000 + RANDOM % (low - 10000)))
        (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null || { echo "$port"; return; }
    done
}

start_cluster() {
    # What a killed run left behind goes first.
    stop_cluster
    mkdir -p "$DIR"
    chown "$OWNER" "$DIR"
    chmod 0700 "$DIR"
    local place=$DIR
    if ! as_owner test -w "$DIR"; then
        place=$(mktemp -d /tmp/actiondrop-pg.XXXXXX)
        chown "$OWNER" "$place"
        echo "$place" > "$DIR/place"
    fi
    as_owner "$PG_BIN/initdb" -D "$place/data" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 \
        > "$place/initdb.log" 2>&1 || { cat "$place/initdb.log" >&2; exit 1; }
    # Durability is no concern of a cluster thrown away after the run; the parallel tests
    # hold a connection or two each.
    local settings="-c listen_addresses=127.0.0.1 -c unix_socket_directories=$place -c fsync=off"
    settings+=" -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    local port tries=0
    while :; do
        port=$(free_port)
        if as_owner "$PG_BIN/pg_ctl" -D "$place/data" -l "$place/server.log" -w -t 60 \
            -o "$settings -c port=$port" start > /dev/null; then
            break
        fi
        tries=$((tries + 1))
        if [ $tries -ge 5 ]; then
            cat "$place/server.log" >&2
            echo "pg_cluster: the server did not start" >&2
            exit 1
        fi
    done
    local base="postgresql://postgres@127.0.0.1:$port"
    psql "$base/postgres" -v ON_ERROR_STOP=1 -qc 'CREATE DATABASE actiondrop_test' > /dev/null
    echo "$base/actiondrop_test" > "$DIR/url.new"
    mv "$DIR/url.new" "$DIR/url"
    echo "pg_cluster: $(cat "$DIR/url") (data in $place/data)"
}

case "$ACTION" in
    start) start_cluster ;;
    stop) stop_cluster ;;
    *) usage ;;
esac
