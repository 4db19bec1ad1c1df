#!/usr/bin/env bash
# Refused credentials back off for a long time: an inbox whose key the server does not
# accept (s1) and one whose password is wrong (s2) are each tried once in 20 s of 1 s
# polls (the servers' own logs count the connections), and the daemon's log says that
# authentication was refused and when it retries. A password that is right (s3, an
# account of its own) and a key that is right pull their files. Secrets never reach the log: neither password nor any
# line of the private keys' bodies appears in the daemon's stderr.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd_lib.sh"
command -v chpasswd > /dev/null || fail "chpasswd is missing"
setup_ledger
sshd_up s1 s2 s3
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$WORK/stranger_key"
WRONG_PW="wrong-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')-pw"
RIGHT_PW="right-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')-pw"
printf '%s\n' "$WRONG_PW" > "$WORK/wrong.password"
printf '%s\n' "$RIGHT_PW" > "$WORK/right.password"
chmod 0600 "$WORK/wrong.password" "$WORK/right.password"
PW_USER="adpw$SUFFIX"
add_account "$PW_USER"
echo "$PW_USER:$RIGHT_PW" | chpasswd || fail "cannot set the password of $PW_USER"
mkdir -p "$R"/{in1,out1,in2,out2,in3,out3,in4,out4}
chmod -R 0755 "$R"
chown "$PW_USER" "$R/out3"
for n in 1 2 3 4; do conv_file "$R/in$n/a$n.csv" "AU-$n 10.00"; done
chmod 0644 "$R"/in*/*.csv
{
    config_head
    sftp_inbox wrongkey s1 "$R/in1" "$R/out1" "identity_file: $WORK/stranger_key"
    sftp_inbox wrongpw s2 "$R/in2" "$R/out2" "password_file: $WORK/wrong.password"
    sftp_inbox rightpw s3 "$R/in3" "$R/out3" "user: $PW_USER" "password_file: $WORK/right.password"
    sftp_inbox rightkey s3 "$R/in4" "$R/out4"
} > "$CONFIG"
daemon_start 4
started=$SECONDS

# The right password, and the right key, pull their files.
wait_answered 30 "$R/out3" a3.csv
wait_answered 30 "$R/out4" a4.csv
grep -q "Accepted password for $PW_USER" "$(sshd_dir s3)/sshd.log" || fail "s3: no password login"

# The refused ones: logged with the delay, and tried once in 20 s.
# The line names the inbox, says the credentials were refused, and when it retries.
refused_line() { grep -iE "inbox=$1[^a-z0-9_.-].*(auth|refused|denied)" "$DLOG" | grep -iE "retry" | head -1 || true; }
for inbox in wrongkey wrongpw; do
    wait_for 30 prints refused_line $inbox
    line=$(refused_line $inbox)
    echo "$line"
    # The delay: "retrying in N s" (15 minutes, maybe with some jitter), or in minutes.
    delay=$(sed -nE 's/.*retrying in ([0-9]+) ?s.*/\1/p; s/.*retrying in ([0-9]+) ?(m|min).*/\1m/p' <<< "$line" | head -1)
    case "$delay" in
        *m) [ "${delay%m}" -ge 10 ] || fail "$inbox: a retry in $delay after refused credentials: $line" ;;
        '') fail "$inbox: the log does not say when it retries: $line" ;;
        *) [ "$delay" -ge 600 ] || fail "$inbox: a retry in ${delay}s after refused credentials (expected about 15 minutes): $line" ;;
    esac
done
grep -q "Failed publickey for root\|Connection closed by authenticating user root" "$(sshd_dir s1)/sshd.log" \
    || { cat "$(sshd_dir s1)/sshd.log"; fail "s1: the key was not refused by the server"; }
grep -q "Failed password for root" "$(sshd_dir s2)/sshd.log" || { cat "$(sshd_dir s2)/sshd.log"; fail "s2: no password tried"; }
while [ $((SECONDS - started)) -lt 20 ]; do sleep 0.5; kill -0 "$DAEMON_PID" || { show_logs; fail "actiondropd exited"; }; done
for s in s1 s2; do
    n=$(sshd_connections $s)
    [ "$n" = 1 ] || { show_logs; fail "$s: $n connections in 20 s with refused credentials, expected 1 (long backoff)"; }
done
[ ! -e "$R/out1/a1.csv_summary.json" ] && [ ! -e "$R/out2/a2.csv_summary.json" ] || fail "a file pulled with refused credentials"
[ "$(metric 'actiondrop_sftp_host_key_alert{inbox="wrongkey"}')" != 1 ] || fail "refused credentials raised a host key alert"
daemon_stop

# No secret in any log of the daemon.
cat "$WORK"/daemon.*.log > "$WORK/all.log"
[ -s "$WORK/all.log" ] || fail "the daemon logged nothing"
for pw in "$WRONG_PW" "$RIGHT_PW"; do
    if grep -qF "$pw" "$WORK/all.log"; then fail "a password appears in the daemon's log"; fi
done
for key in "$WORK/stranger_key" "$(sshd_dir s3)/client_key"; do
    grep -v -- '-----' "$key" | grep -E '.{16,}' > "$WORK/key.lines"
    [ -s "$WORK/key.lines" ] || fail "no body lines in $key"
    if grep -qF -f "$WORK/key.lines" "$WORK/all.log"; then fail "private key material of $key appears in the daemon's log"; fi
done
if grep -q "PRIVATE KEY" "$WORK/all.log"; then fail "a private key header appears in the daemon's log"; fi
echo "sftp auth: ok"
