#!/usr/bin/env bash
# `actiondrop sftp enrol INBOX` against a real sshd on 127.0.0.1: it shows the server's
# SHA256 host key fingerprint without logging in, adds it to the inbox's known_hosts only
# with --accept, then connects; a changed host key is refused and never replaced.
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || fail "this test runs sshd: run it as root (CI does)"
for tool in /usr/sbin/sshd ssh-keygen; do
    command -v "$tool" > /dev/null || fail "$tool is missing: run deploy/install-deps.sh --test"
done
mkdir -p /run/sshd "$WORK/ssh" "$WORK/remote/in" "$WORK/remote/out"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh/host1" -C host1
ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh/host2" -C host2
ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh/client" -C client
cp "$WORK/ssh/client.pub" "$WORK/ssh/authorized_keys"
PORT=$(free_port)
SSHD_PID=""
start_sshd() {
    cat > "$WORK/ssh/sshd_config" <<CFG
Port $PORT
ListenAddress 127.0.0.1
HostKey $WORK/ssh/$1
PidFile $WORK/ssh/sshd.pid
AuthorizedKeysFile $WORK/ssh/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
Subsystem sftp internal-sftp
CFG
    /usr/sbin/sshd -D -e -f "$WORK/ssh/sshd_config" 2>> "$WORK/sshd.log" &
    SSHD_PID=$!
    local deadline=$((SECONDS + 20))
    until grep -q "Server listening on 127.0.0.1 port $PORT" "$WORK/sshd.log" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || { cat "$WORK/sshd.log"; fail "sshd did not start"; }
        sleep 0.1
    done
}
stop_sshd() {
    # Connections are served by children of the listener: end the whole group.
    [ -n "$SSHD_PID" ] && { pkill -KILL -P "$SSHD_PID" 2>/dev/null || true; kill -KILL "$SSHD_PID" 2>/dev/null || true; wait "$SSHD_PID" 2>/dev/null || true; }
    : > "$WORK/sshd.log"
    SSHD_PID=""
}
trap 'stop_sshd; rm -rf "$WORK"' EXIT
start_sshd host1

cat > "$WORK/actiondrop.yaml" <<YAML
store: sqlite:$WORK/ledger.db
state_dir: $WORK/state
inboxes:
  - {name: pull, account: "1000", type: conversions, kind: sftp, host: 127.0.0.1, port: $PORT, user: root,
     identity_file: $WORK/ssh/client, known_hosts: $WORK/ssh/known_hosts, folder: $WORK/remote/in,
     result_folder: $WORK/remote/out}
YAML
AD=("$ACTIONDROP" --config "$WORK/actiondrop.yaml")
want=$(ssh-keygen -lf "$WORK/ssh/host1.pub" | awk '{print $2}')

expect_exit 0 "${AD[@]}" sftp enrol pull
grep -qF "$want" "$WORK/last.out" || { cat "$WORK/last.out"; fail "enrol did not show the fingerprint $want"; }
[ ! -s "$WORK/ssh/known_hosts" ] || fail "enrol without --accept wrote known_hosts"
grep -q "Accepted publickey\|userauth" "$WORK/sshd.log" && fail "enrol logged in before the key was trusted"

expect_exit 0 "${AD[@]}" sftp enrol pull --accept
ssh-keygen -F "[127.0.0.1]:$PORT" -f "$WORK/ssh/known_hosts" > /dev/null || fail "the key was not added to known_hosts"
expect_exit 0 "${AD[@]}" sftp enrol pull
grep -q "already enrolled" "$WORK/last.out" || { cat "$WORK/last.out"; fail "an enrolled key was not recognised"; }

# The server's key changes: refused, even with --accept, and known_hosts is untouched.
stop_sshd
start_sshd host2
cp "$WORK/ssh/known_hosts" "$WORK/known_hosts.before"
expect_exit 65 "${AD[@]}" sftp enrol pull --accept
grep -q "CHANGED" "$WORK/last.err" || { cat "$WORK/last.err"; fail "a changed key was not reported"; }
cmp -s "$WORK/ssh/known_hosts" "$WORK/known_hosts.before" || fail "a changed key was written to known_hosts"
expect_exit 64 "${AD[@]}" sftp enrol nosuchinbox
