#!/usr/bin/env bash
# A private key file that others may read is refused before it is offered, as OpenSSH
# does, with a log line that says so; the file pulled by the inbox is not taken. Once the
# key is chmod 600 (what the log line advises), the inbox uses it at its next poll: no
# restart, and no waiting out the 15-minute backoff of refused credentials.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd_lib.sh"
setup_ledger
sshd_up s1
mkdir -p "$R/in" "$R/out"
cp "$(sshd_dir s1)/client_key" "$WORK/loose_key"
chmod 0644 "$WORK/loose_key"
conv_file "$R/in/k1.csv" "KM-1 10.00"
{ config_head; sftp_inbox loosekey s1 "$R/in" "$R/out" "identity_file: $WORK/loose_key"; } > "$CONFIG"
daemon_start 1
mode_line() { grep -E "inbox=loosekey[^a-z0-9_.-].*(0644|permission|mode)" "$DLOG" | head -1 || true; }
wait_for 30 prints mode_line
mode_line
sleep 3
[ "$(sshd_logins s1)" = 0 ] || fail "a login with a key file readable by others"
if grep -E "(Failed|Postponed) publickey" "$(sshd_dir s1)/sshd.log"; then fail "the key was offered although others may read it"; fi
[ ! -e "$R/out/k1.csv_summary.json" ] || fail "k1.csv pulled with a key file readable by others"

chmod 0600 "$WORK/loose_key"
fixed_at=$SECONDS
wait_answered 30 "$R/out" k1.csv
echo "k1.csv answered $((SECONDS - fixed_at)) s after chmod 600"
[ "$DAEMON_RUN" = 1 ] || fail "the daemon was restarted"
daemon_stop
echo "sftp key mode: ok"
