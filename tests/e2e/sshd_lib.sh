# shellcheck shell=bash
# Shared set-up for the tests of SFTP pull inboxes: private OpenSSH servers on 127.0.0.1
# (own host key, client key, authorized_keys, config and verbose log), one actiondropd
# whose stderr is kept per run, throw-away accounts, and waits that show every log when
# they give up. Sourced after lib.sh; needs root (sshd's privilege separation, accounts).
: "${ACTIONDROPD:?set by CTest}"
[ "$(id -u)" = 0 ] || fail "this test runs sshd and makes accounts: run it as root (CI does)"
for tool in /usr/sbin/sshd ssh-keygen curl useradd userdel; do
    command -v "$tool" > /dev/null || fail "$tool is missing: run deploy/install-deps.sh --test"
done
mkdir -p /run/sshd
SFTP_SERVER=""
for f in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/libexec/sftp-server; do
    [ -x "$f" ] && { SFTP_SERVER=$f; break; }
done
[ -n "$SFTP_SERVER" ] || fail "OpenSSH's sftp-server is missing: run deploy/install-deps.sh --test"
# Accounts other than root read their authorized keys and folders below $WORK.
chmod 0711 "$WORK"
STATE="$WORK/state"
CONFIG="$WORK/actiondrop.yaml"
R="$WORK/remote"  # the servers' folders, reached by every account
SUFFIX=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')

declare -A SSHD_PORT=() SSHD_PID=()
SSHD_NAMES=()
ACCOUNTS=()
DAEMON_PID=""
DAEMON_RUN=0
DLOG="$WORK/daemon.0.log"  # the current run's stderr; every run's is $WORK/daemon.*.log

sftp_cleanup() {
    set +e
    local name
    [ -n "$DAEMON_PID" ] && kill_tree "$DAEMON_PID"
    for name in "${SSHD_NAMES[@]}"; do [ -n "${SSHD_PID[$name]}" ] && kill_tree "${SSHD_PID[$name]}"; done
    [ ${#ACCOUNTS[@]} -eq 0 ] || remove_accounts "${ACCOUNTS[@]}"
    e2e_cleanup  # lib.sh's: the folder, and the test's schema in a PostgreSQL run
}
trap sftp_cleanup EXIT

# Prints every log of the test (on a failure).
show_logs() {
    local f
    for f in "$WORK"/daemon.*.log "$WORK"/sshd-*/sshd.log; do
        [ -f "$f" ] || continue
        echo "--- $f (last 60 lines):" >&2
        tail -n 60 "$f" >&2
    done
    if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2> /dev/null; then
        echo "--- /metrics (actiondrop_sftp_*):" >&2
        curl -sS --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" 2>&1 | grep -v '^#' | grep sftp >&2 || true
    fi
}

# wait_for SECONDS CONDITION...: polls until the condition holds; gives up (failing the
# test, all logs shown) at the deadline or when a running actiondropd has exited.
wait_for() {
    local limit=$1 deadline=$((SECONDS + $1)); shift
    until "$@"; do
        if [ $SECONDS -ge $deadline ]; then show_logs; fail "timed out after ${limit}s waiting for: $*"; fi
        if [ -n "$DAEMON_PID" ] && ! kill -0 "$DAEMON_PID" 2> /dev/null; then
            show_logs; fail "actiondropd exited while waiting for: $*"
        fi
        sleep 0.1
    done
}

# at_least N COMMAND...: true when COMMAND prints a number >= N (a condition for wait_for).
at_least() { local n=$1; shift; [ "$("$@")" -ge "$n" ]; }
# prints COMMAND...: true when COMMAND prints something.
prints() { [ -n "$("$@")" ]; }

# sshd_setup NAME: a server's folder $WORK/sshd-NAME with an ed25519 host key (host_key),
# a client key (client_key, in authorized_keys for every account), a free port and a
# config: loopback only, key or password logins, internal-sftp, LogLevel VERBOSE (which
# logs every "Connection from" line: the count of connection attempts).
sshd_setup() {
    local name=$1 dir="$WORK/sshd-$1"
    mkdir -p "$dir"
    chmod 0755 "$dir"
    ssh-keygen -q -t ed25519 -N '' -C "host-$name" -f "$dir/host_key"
    ssh-keygen -q -t ed25519 -N '' -C "client-$name" -f "$dir/client_key"
    cp "$dir/client_key.pub" "$dir/authorized_keys"
    chmod 0644 "$dir/authorized_keys"
    # OpenSSH's sftp-server, logging every request into sftp.log (internal-sftp could only
    # log to syslog); accounts other than root append to it too.
    : > "$dir/sftp.log"
    chmod 0666 "$dir/sftp.log"
    printf '#!/bin/sh\nexec %s -e -l VERBOSE 2>> %s\n' "$SFTP_SERVER" "$dir/sftp.log" > "$dir/sftp-server"
    chmod 0755 "$dir/sftp-server"
    SSHD_PORT[$name]=$(free_port)
    SSHD_PID[$name]=""
    SSHD_NAMES+=("$name")
    cat > "$dir/sshd_config" <<CFG
Port ${SSHD_PORT[$name]}
ListenAddress 127.0.0.1
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UseDNS no
MaxStartups 200
LogLevel VERBOSE
Subsystem sftp $dir/sftp-server
CFG
    : > "$dir/sshd.log"
}

sshd_dir() { echo "$WORK/sshd-$1"; }

# sshd_start NAME: starts (or restarts) the server on its port; its log is appended to.
sshd_start() {
    local name=$1 dir="$WORK/sshd-$1" before
    before=$(grep -c "Server listening on 127.0.0.1 port ${SSHD_PORT[$name]}" "$dir/sshd.log" || true)
    setsid /usr/sbin/sshd -D -e -f "$dir/sshd_config" 2>> "$dir/sshd.log" &
    SSHD_PID[$name]=$!
    disown
    local deadline=$((SECONDS + 20))
    until [ "$(grep -c "Server listening on 127.0.0.1 port ${SSHD_PORT[$name]}" "$dir/sshd.log" || true)" -gt "$before" ]; do
        if [ $SECONDS -ge $deadline ] || ! kill -0 "${SSHD_PID[$name]}" 2> /dev/null; then
            cat "$dir/sshd.log" >&2; fail "sshd $name did not start on port ${SSHD_PORT[$name]}"
        fi
        sleep 0.05
    done
}

# sshd_stop NAME: kills the listener and every per-connection process at once (without
# the latter, a transfer in progress would go on).
sshd_stop() {
    local name=$1
    [ -n "${SSHD_PID[$name]}" ] || return 0
    kill_tree "${SSHD_PID[$name]}"
    local deadline=$((SECONDS + 5))
    while [ -e "/proc/${SSHD_PID[$name]}" ] && [ "$(awk '{ print $3 }' "/proc/${SSHD_PID[$name]}/stat" 2> /dev/null)" != Z ]; do
        [ $SECONDS -lt $deadline ] || fail "sshd $name did not stop"
        sleep 0.05
    done
    SSHD_PID[$name]=""
}

# sshd_connections NAME: how many connections the server has accepted so far (all runs).
sshd_connections() { grep -c "Connection from 127.0.0.1 port" "$WORK/sshd-$1/sshd.log" || true; }
# sshd_logins NAME: how many logins succeeded so far.
sshd_logins() { grep -c "Accepted \(publickey\|password\) for" "$WORK/sshd-$1/sshd.log" || true; }

# sftp_opens NAME PATH: how many times the server's clients opened PATH for reading.
sftp_opens() { grep -cF "open \"$2\" flags READ" "$WORK/sshd-$1/sftp.log" || true; }
# sftp_listings NAME FOLDER: how many times FOLDER was listed (each poll lists it).
sftp_listings() { grep -cE "^opendir \"$2/?\"" "$WORK/sshd-$1/sftp.log" || true; }

# sshd_known_hosts NAME FILE [PUBLIC_KEY_FILE]: writes FILE naming server NAME with its own
# host key, or with the key in PUBLIC_KEY_FILE.
sshd_known_hosts() {
    local pub=${3:-$WORK/sshd-$1/host_key.pub}
    # Written aside and renamed: a reader never sees the file empty.
    echo "[127.0.0.1]:${SSHD_PORT[$1]} $(cut -d' ' -f1,2 "$pub")" > "$2.new"
    mv -f "$2.new" "$2"
}

# sshd_up NAME...: each server set up and started, and named with its host key in the
# client's file $WORK/known_hosts_NAME (the known_hosts of sftp_inbox).
sshd_up() {
    local name
    for name in "$@"; do
        sshd_setup "$name"
        sshd_start "$name"
        sshd_known_hosts "$name" "$WORK/known_hosts_$name"
    done
}

# add_account NAME: a throw-away account, removed at exit (make NAME unique with
# $SUFFIX). It has a shell because sshd starts the logging sftp-server through one.
add_account() {
    local name=$1
    useradd --no-create-home --home-dir / --shell /bin/sh "$name" \
        || fail "cannot create the account $name"
    ACCOUNTS+=("$name")
    # "!" (locked) makes sshd refuse even keys when PAM is off; "*" means no password.
    usermod --password '*' "$name" || fail "cannot unlock the account $name"
}

# daemon_start: starts actiondropd on $CONFIG, its stderr in a new $DLOG, and waits until
# it serves N inboxes (N = the first argument).
daemon_start() {
    DAEMON_RUN=$((DAEMON_RUN + 1))
    DLOG="$WORK/daemon.$DAEMON_RUN.log"
    "$ACTIONDROPD" --config "$CONFIG" 2> "$DLOG" &
    DAEMON_PID=$!
    wait_for 30 grep -qs "serving $1 inboxes" "$DLOG"
}

# daemon_kill: SIGKILL for actiondropd and its children (no chance to tidy up).
daemon_kill() {
    kill_tree "$DAEMON_PID"
    wait "$DAEMON_PID" 2> /dev/null || true
    DAEMON_PID=""
}

# daemon_stop: SIGTERM; the daemon must exit 0 within 20 s.
daemon_stop() {
    [ -n "$DAEMON_PID" ] || return 0
    kill -TERM "$DAEMON_PID"
    local deadline=$((SECONDS + 20)) code=0
    while kill -0 "$DAEMON_PID" 2> /dev/null; do
        [ $SECONDS -lt $deadline ] || { show_logs; fail "actiondropd did not stop within 20 s of SIGTERM"; }
        sleep 0.05
    done
    wait "$DAEMON_PID" || code=$?
    DAEMON_PID=""
    [ "$code" = 0 ] || { show_logs; fail "actiondropd exited $code on SIGTERM"; }
}

# metric LINE_START: the value of the /metrics sample that starts with LINE_START, e.g.
# metric 'actiondrop_sftp_host_key_alert{inbox="x"}' (empty when absent).
METRICS_PORT=$(free_port)  # every test's config names it (the default port may be taken)
metric() {
    { curl -fsS --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" 2> /dev/null || true; } |
        awk -v k="$1" 'index($0, k " ") == 1 { print $2 }'
}
metric_is() { [ "$(metric "$1")" = "$2" ]; }

# config_head [SETTING]...: the start of a config: the ledger, $STATE, each SETTING line,
# /metrics on $METRICS_PORT, and "inboxes:" (the items follow, e.g. from sftp_inbox).
config_head() {
    echo "store: $STORE"
    echo "state_dir: $STATE"
    if [ $# -gt 0 ]; then printf '%s\n' "$@"; fi
    echo "metrics: {listen: \"127.0.0.1:$METRICS_PORT\"}"
    echo "inboxes:"
}

# sftp_inbox NAME SERVER FOLDER RESULT_FOLDER ["KEY: VALUE"]...: an item of the config's
# inboxes: a pull inbox of account 1000 (conversions) from FOLDER on server SERVER, as
# root with the server's client key and $WORK/known_hosts_SERVER, polled every second
# with settle 1s. Each "KEY: VALUE" replaces the default of KEY or is added; a
# password_file replaces the identity_file.
sftp_inbox() {
    local name=$1 server=$2 folder=$3 result=$4 arg key
    shift 4
    local -A field=([user]=root [identity_file]="$(sshd_dir "$server")/client_key"
        [known_hosts]="$WORK/known_hosts_$server" [poll_interval]=1s [settle]=1s)
    local keys=(user identity_file known_hosts poll_interval settle)
    for arg in "$@"; do
        key=${arg%%:*}
        [ -n "${field[$key]+set}" ] || keys+=("$key")
        field[$key]=${arg#*: }
        if [ "$key" = password_file ]; then unset 'field[identity_file]'; fi
    done
    printf '  - {name: %s, account: "1000", type: conversions, kind: sftp, host: 127.0.0.1, port: %s,\n' \
        "$name" "${SSHD_PORT[$server]}"
    printf '     folder: %s, result_folder: %s' "$folder" "$result"
    for key in "${keys[@]}"; do
        if [ -n "${field[$key]+set}" ]; then printf ', %s: %s' "$key" "${field[$key]}"; fi
    done
    printf '}\n'
}

# put_remote PATH: writes stdin to PATH as the server's users would see it appear: a
# hidden name first, then a rename (the mtime is the time of the write).
put_remote() {
    local tmp
    tmp="$(dirname "$1")/.$(basename "$1").writing"
    cat > "$tmp"
    mv -f "$tmp" "$1"
}

# batches_of INBOX: how many batches the journal holds for INBOX.
batches_of() {
    ad batches list --json > "$WORK/batches.json" || fail "batches list failed"
    python3 -c 'import json,sys; print(sum(1 for b in json.load(open(sys.argv[1])) if b["inbox"] == sys.argv[2]))' \
        "$WORK/batches.json" "$1"
}

# no_temporaries FOLDER: fails when FOLDER holds a hidden name (an upload left half done).
no_temporaries() {
    local left
    left=$(find "$1" -mindepth 1 -maxdepth 1 -name '.*' -printf '%f\n')
    [ -z "$left" ] || fail "temporary files left in $1: $left"
}

# spool_empty INBOX: fails unless the pull spool of INBOX holds no file.
spool_empty() {
    local left
    left=$(find "$STATE/pull/$1" -type f 2> /dev/null || true)
    [ -z "$left" ] || fail "the spool of $1 still holds: $left"
}

# conv_header, conv_row ID [AMOUNT] [TRACKER]: conversions rows for account 1000.
CONV_HEADER='ActionId,CampaignId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount'
EVENT_DATE=$(days_ago 1)
conv_header() { printf '%s\r\n' "$CONV_HEADER"; }
conv_row() { printf '%s,CMP,%s,P-77,O-%s,%s,%s\r\n' "$1" "${3:-19816}" "$1" "$EVENT_DATE" "${2:-10.00}"; }

# conv_file PATH "ID [AMOUNT] [TRACKER]"...: puts a conversions file on the server
# (put_remote): the header, then one conv_row for each argument.
conv_file() {
    local path=$1 row fields
    shift
    {
        conv_header
        for row in "$@"; do read -r -a fields <<< "$row"; conv_row "${fields[@]}"; done
    } | put_remote "$path"
}

# wait_answered SECONDS RESULT_FOLDER NAME [APPLIED]: waits for NAME's summary in
# RESULT_FOLDER, then fails unless it counts APPLIED (1 unless given) rows applied.
wait_answered() {
    local summary="$2/$3_summary.json"
    wait_for "$1" test -f "$summary"
    [ "$(json_field "$summary" applied)" = "${4:-1}" ] || fail "$3 not applied as expected: $(cat "$summary")"
}
