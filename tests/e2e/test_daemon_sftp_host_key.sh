#!/usr/bin/env bash
# A pull inbox trusts only its known_hosts file. Server s1 shows a host key other than the
# one known (same type, ed25519); server s2's key is not known at all (an empty file). For
# each: no credential is offered and nothing is transferred, an error log line names the
# inbox and the host key, /metrics shows actiondrop_sftp_host_key_alert 1, and the server's
# own log shows at most one connection over 15 s of 1 s polls (no retry storm). A change
# of the known_hosts file is the only thing that makes the daemon try again: a key of
# another type (ecdsa) is refused the same way, once; then `actiondrop sftp enrol --accept`
# writes the right key and, with no restart, the file is pulled and the alert cleared. A
# changed config (SIGHUP) also makes it try once more.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd_lib.sh"
setup_ledger
sshd_up s1 s2
ssh-keygen -q -t ed25519 -N '' -C impostor -f "$WORK/impostor_ed25519"
ssh-keygen -q -t ecdsa -N '' -C impostor -f "$WORK/impostor_ecdsa"
KH1="$WORK/known_hosts_s1"; KH2="$WORK/known_hosts_s2"
sshd_known_hosts s1 "$KH1" "$WORK/impostor_ed25519.pub"
: > "$KH2"
mkdir -p "$R/in1" "$R/out1" "$R/in2" "$R/out2"
conv_file "$R/in1/hk1.csv" "HK-1 10.00"
conv_file "$R/in2/hk2.csv" "HK-2 20.00"
# write_config POLL: the config, with POLL as the poll interval of inbox "changed".
write_config() {
    {
        config_head
        sftp_inbox changed s1 "$R/in1" "$R/out1" "known_hosts: $KH1" "poll_interval: $1"
        sftp_inbox unknown s2 "$R/in2" "$R/out2" "known_hosts: $KH2"
    } > "$CONFIG"
}
write_config 1s
daemon_start 2
started=$SECONDS
alerted() { metric_is "actiondrop_sftp_host_key_alert{inbox=\"$1\"}" 1; }
logged() { grep -iE "error: .*inbox=${1}[^a-z0-9_.-].*host key" "$DLOG" > /dev/null; }
for inbox in changed unknown; do
    wait_for 30 alerted "$inbox"
    wait_for 10 logged "$inbox"
    grep -iE "error: .*inbox=${inbox}[^a-z0-9_.-].*host key" "$DLOG" | head -1
done
grep -iE "inbox=changed[^a-z0-9_.-].*$(ssh-keygen -lf "$(sshd_dir s1)/host_key.pub" | awk '{print $2}')" "$DLOG" > /dev/null \
    || echo "note: the alert does not show the server's SHA256 fingerprint"

# 15 s of polls: one connection each, no credential, no file opened.
while [ $((SECONDS - started)) -lt 16 ]; do sleep 0.5; kill -0 "$DAEMON_PID" || { show_logs; fail "actiondropd exited"; }; done
for s in s1 s2; do
    n=$(sshd_connections $s)
    [ "$n" -le 1 ] || { show_logs; fail "$s: $n connections in 16 s after a host key alert (a retry storm)"; }
    [ "$n" = 1 ] || { show_logs; fail "$s: no connection at all (the alert must come from the server's key)"; }
    if grep -E "(Accepted|Failed|Postponed) [a-z-]+ for" "$(sshd_dir $s)/sshd.log"; then
        fail "$s: a credential was offered to a server whose host key is not trusted"
    fi
    [ ! -s "$(sshd_dir $s)/sftp.log" ] || fail "$s: an SFTP session was opened: $(cat "$(sshd_dir $s)/sftp.log")"
done
[ -z "$(find "$STATE/pull" -type f 2> /dev/null)" ] || fail "something was downloaded: $(find "$STATE/pull" -type f)"
[ -z "$(find "$R/out1" "$R/out2" -mindepth 1)" ] || fail "answers written: $(find "$R/out1" "$R/out2" -mindepth 1)"
[ "$(batches_of changed)" = 0 ] && [ "$(batches_of unknown)" = 0 ] || fail "batches recorded: $(cat "$WORK/batches.json")"

# known_hosts changed, to a key of another type for the same server: tried once again,
# refused again (still no credential), and no more tries after that.
sshd_known_hosts s1 "$KH1" "$WORK/impostor_ecdsa.pub"
changed_at=$SECONDS
wait_for 15 at_least 2 sshd_connections s1
echo "known_hosts changed: s1 connected again $((SECONDS - changed_at)) s later"
sleep 8
[ "$(sshd_connections s1)" = 2 ] || { show_logs; fail "s1: $(sshd_connections s1) connections after one change of known_hosts, expected 2"; }
alerted changed || fail "the alert was cleared by a key of another type"
if grep -E "(Accepted|Failed|Postponed) [a-z-]+ for" "$(sshd_dir s1)/sshd.log"; then fail "s1: a credential was offered"; fi

# A changed config (SIGHUP) is the other thing that makes it try again, once.
write_config 2s
kill -HUP "$DAEMON_PID"
wait_for 20 grep -q "SIGHUP: config reloaded" "$DLOG"
wait_for 15 at_least 3 sshd_connections s1
sleep 6
[ "$(sshd_connections s1)" = 3 ] || { show_logs; fail "s1: $(sshd_connections s1) connections after a config change, expected 3"; }
alerted changed || fail "the alert was cleared by a config change"

# The right key, enrolled with the CLI into a fresh file: pulled with no restart.
rm -f "$KH1"
expect_exit 0 "$ACTIONDROP" --config "$CONFIG" sftp enrol changed --accept
ssh-keygen -F "[127.0.0.1]:${SSHD_PORT[s1]}" -f "$KH1" > /dev/null || fail "enrol did not write known_hosts"
sshd_known_hosts s2 "$KH2"
wait_answered 30 "$R/out1" hk1.csv
wait_answered 30 "$R/out2" hk2.csv
wait_for 10 metric_is 'actiondrop_sftp_host_key_alert{inbox="changed"}' 0
wait_for 10 metric_is 'actiondrop_sftp_host_key_alert{inbox="unknown"}' 0
[ "$(sshd_logins s1)" -ge 1 ] && [ "$(sshd_logins s2)" -ge 1 ] || fail "no login after the key was enrolled"
[ "$DAEMON_RUN" = 1 ] || fail "the daemon was restarted"
daemon_stop
echo "sftp host key: ok"
