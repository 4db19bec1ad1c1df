# Shared set-up for the end-to-end tests: a private state folder, a store, the test
# catalog, and small assertions. Sourced by tests/e2e/test_*.sh; CTest sets $ACTIONDROP
# (the built binary) and $SOURCE_DIR.
set -euo pipefail
: "${ACTIONDROP:?set by CTest}" "${SOURCE_DIR:?set by CTest}"
E2E_DIR="$SOURCE_DIR/tests/e2e"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/actiondrop-e2e.XXXXXX")

fail() { echo "FAIL: $*" >&2; exit 1; }

# The store: a SQLite file in $WORK, or, in the PostgreSQL runs (tests/CMakeLists.txt,
# docs/testing.md), a schema of this test's own in the test cluster, dropped on exit. A test
# run on PostgreSQL that sets an EXIT trap of its own calls e2e_cleanup from it.
PG_DATABASE=""
PG_SCHEMA=""
# pg SQL: runs SQL in the test database; IF EXISTS says nothing when there is nothing.
pg() {
    PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 "$PG_DATABASE" -c "$1"
}
e2e_cleanup() {
    if [ -n "$PG_SCHEMA" ]; then
        pg "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" > /dev/null ||
            echo "could not drop the schema $PG_SCHEMA" >&2
    fi
    rm -rf "$WORK"
}
trap e2e_cleanup EXIT
if [ -n "${ACTIONDROP_TEST_PG_URL_FILE:-}" ]; then
    PG_DATABASE=$(cat "$ACTIONDROP_TEST_PG_URL_FILE") ||
        fail "no cluster URL in $ACTIONDROP_TEST_PG_URL_FILE: is the test cluster running?"
    [ -n "$PG_DATABASE" ] || fail "$ACTIONDROP_TEST_PG_URL_FILE is empty"
    # $$ is unique among the running tests; a schema left by a killed one goes first.
    PG_SCHEMA="e2e_$$"
    pg "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE; CREATE SCHEMA $PG_SCHEMA" > /dev/null ||
        { PG_SCHEMA=""; fail "cannot make a schema in $PG_DATABASE"; }
    # The store's SQL names no schema: search_path puts its tables in this one.
    STORE="$PG_DATABASE?options=-csearch_path%3D$PG_SCHEMA"
else
    STORE="sqlite:$WORK/ledger.db"
fi

ad() { "$ACTIONDROP" --store "$STORE" --state-dir "$WORK/state" "$@"; }

# expect_exit CODE command...: runs the command and checks its exit status.
expect_exit() {
    local want=$1; shift
    local got=0
    "$@" > "$WORK/last.out" 2> "$WORK/last.err" || got=$?
    if [ "$got" != "$want" ]; then
        cat "$WORK/last.out" "$WORK/last.err" >&2
        fail "expected exit $want, got $got: $*"
    fi
}

setup_ledger() {
    expect_exit 0 ad init
    expect_exit 0 ad catalog load "$SOURCE_DIR/tests/data/e2e/catalog.yaml"
}

# A UTC timestamp N days before now, e.g. days_ago 3.
days_ago() { date -u -d "$1 days ago" +%Y-%m-%dT%H:%M:%SZ; }

# check_csv ACTUAL EXPECTED: the expected CSV names a subset of the columns; every line
# must match in order, and the files must have the same number of lines.
check_csv() { python3 "$E2E_DIR/check_csv.py" "$@"; }

# A port of 127.0.0.1 nothing holds, below the range the kernel gives outgoing connections:
# a port in that range can be taken by any connection while its server restarts.
free_port() {
    python3 - << 'PY'
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
if low <= 10001:  # no range below the kernel's: a port it gives, free now
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    raise SystemExit
while True:
    port = random.randrange(10000, low)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
PY
}

# wait_until SECONDS CONDITION...: polls the command CONDITION every 0.1 s; at the deadline
# shows the last 200 lines of each $WORK/*.log and fails, naming the condition. A negated
# condition needs a function (`held() { ! flock -n "$1" true; }`): a `!` here is taken for a
# command, never found, and so waits to the deadline. (The SFTP tests' wait_for also stops
# when their service has exited.)
wait_until() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        if [ $SECONDS -ge $deadline ]; then
            tail -n 200 "$WORK"/*.log >&2 2> /dev/null || true
            fail "timed out waiting for: $*"
        fi
        sleep 0.1
    done
}

json_field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[sys.argv[2]])' "$@"; }
# archived INBOX NAME: prints the path of NAME in INBOX's archive (STATE/archive/INBOX/yyyy/
# mm/dd/NAME) under whichever day it was archived, and fails when it is not there. The day is
# that of the batch's completion in UTC: a test that runs across midnight must not guess it.
archived() {
    local found
    for found in "$STATE/archive/$1"/[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]/"$2"; do
        if [ -f "$found" ]; then printf '%s\n' "$found"; return 0; fi
    done
    return 1
}

# chroot_base NAME: makes and prints a fresh folder for chroot trees (drop-folder tests).
# sshd and vsftpd chroot only below folders that root owns and no one else can write, so
# it cannot live in /tmp (mode 1777): the first of /run, /var/lib, /srv, /opt that qualifies.
chroot_base() {
    local parent p owner mode base
    for parent in /run /var/lib /srv /opt; do
        [ -d "$parent" ] || continue
        p=$parent
        while :; do
            read -r owner mode <<< "$(stat -c '%u %a' "$p")" || break
            [ "$owner" = 0 ] && [ $((8#$mode & 8#022)) -eq 0 ] || break
            if [ "$p" = / ]; then
                base=$(mktemp -d "$parent/actiondrop-e2e-$1.XXXXXX") && chmod 0755 "$base" && echo "$base"
                return
            fi
            p=$(dirname "$p")
        done
    done
    return 1
}

# remove_accounts NAME...: removes the throw-away users and groups a drop-folder test made.
remove_accounts() {
    local n
    for n in "$@"; do
        getent passwd "$n" > /dev/null && userdel "$n" 2> /dev/null
        getent group "$n" > /dev/null && groupdel "$n" 2> /dev/null
    done
    return 0
}

# kill_tree PID: ends a process and every descendant, by process id (sshd's per-connection
# processes start sessions of their own, so they are found through their parents).
kill_tree() {
    local pid=$1 child
    for child in $(cat /proc/"$pid"/task/*/children 2> /dev/null); do kill_tree "$child"; done
    kill -9 "$pid" 2> /dev/null || true
}
