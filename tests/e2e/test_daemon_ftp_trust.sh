#!/usr/bin/env bash
# FTP pull inboxes that must not log in (README.md, "FTP pull inboxes"): a certificate
# other than the pinned fingerprint, or one that the inbox's ca_file did not sign, is
# refused before a user name or password is sent (the server's log shows AUTH TLS and no
# USER), raises the alert, and is not retried until the config or ca_file changes; a wrong
# password is one attempt and a long backoff (no retry storm), until the password file
# changes, after which the file is pulled. The pinned right fingerprint is trusted without a
# CA. No password appears in the daemon's log.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd_lib.sh"
source "$(dirname "$0")/vsftpd_lib.sh"
setup_ledger
ftpd_up pinned tls
ftpd_up wrongpin tls
ftpd_up wrongca tls
ftpd_up badpw tls
for d in pin pin-out wp wp-out wc wc-out bp bp-out; do mkdir -p "$R/$d"; done
chown -R "$FTP_USER" "$R"
chmod -R 0755 "$R"

BAD_PW_FILE="$WORK/bad_password"
printf 'wrong-%s\n' "$SUFFIX" > "$BAD_PW_FILE"
chmod 0600 "$BAD_PW_FILE"
{
    config_head "sweep_interval: 200ms"
    ftp_inbox pin pinned "$R/pin" "$R/pin-out" "sha256: \"$(ftpd_sha256 pinned)\""
    ftp_inbox wrongpin wrongpin "$R/wp" "$R/wp-out" "sha256: \"$(ftpd_sha256 wrongpin other)\""
    ftp_inbox wrongca wrongca "$R/wc" "$R/wc-out" "ca_file: $(ftpd_dir wrongca)/other.pem"
    ftp_inbox badpw badpw "$R/bp" "$R/bp-out" "password_file: $BAD_PW_FILE"
} > "$CONFIG"
expect_exit 0 "$ACTIONDROPD" --config "$CONFIG" --check-config
for d in pin wp wc bp; do conv_file "$R/$d/$d.csv" "ID-$d 10.00"; done
daemon_start 4

# The pinned certificate is trusted (no CA would trust it): the file is answered.
wait_answered 60 "$R/pin-out" pin.csv

# The wrong certificates: an alert each, and not a byte of a login.
alerted() { metric_is "actiondrop_sftp_host_key_alert{inbox=\"$1\"}" 1; }
wait_for 30 alerted wrongpin
wait_for 30 alerted wrongca
grep -q "inbox=wrongpin HOST KEY ALERT.*$(ftpd_sha256 wrongpin | tr -d : | tr 'A-F' 'a-f')" "$DLOG" \
    || { show_logs; fail "the alert does not name the certificate offered"; }
for s in wrongpin wrongca; do
    [ "$(ftpd_commands "$s" "AUTH TLS")" -ge 1 ] || { show_logs; fail "$s: no TLS was asked for"; }
    [ "$(ftpd_commands "$s" USER)" = 0 ] && [ "$(ftpd_commands "$s" PASS)" = 0 ] \
        || { show_logs; fail "$s: a login was sent to a server whose certificate is not trusted"; }
done

# The wrong password: one login, then a long wait (the first retry is 15 minutes away).
wait_for 30 grep -q "inbox=badpw .*refused our password" "$DLOG"
grep -q "inbox=badpw .*retrying in 9[0-9][0-9]s" "$DLOG" || { show_logs; fail "no long backoff after a refused password"; }
sleep 5
for s in wrongpin wrongca; do
    [ "$(ftpd_connections "$s")" -le 2 ] || { show_logs; fail "$s: connected again $(ftpd_connections "$s") times while untrusted"; }
done
[ "$(ftpd_commands badpw PASS)" = 1 ] || { show_logs; fail "badpw: $(ftpd_commands badpw PASS) logins, expected 1 (a retry storm)"; }

# A corrected password file ends the backoff at once.
cp "$FTP_PASSWORD_FILE" "$BAD_PW_FILE.new"
chmod 0600 "$BAD_PW_FILE.new"
mv -f "$BAD_PW_FILE.new" "$BAD_PW_FILE"
wait_answered 60 "$R/bp-out" bp.csv

# The wrong certificates' files were never pulled, and no password shows in our log.
[ ! -e "$R/wp-out/wp.csv_summary.json" ] && [ ! -e "$R/wc-out/wc.csv_summary.json" ] || fail "a file was pulled from an untrusted server"
if grep -qF "$FTP_PASSWORD" "$WORK"/daemon.*.log; then fail "the password shows in the daemon's log"; fi
if grep -qF "wrong-$SUFFIX" "$WORK"/daemon.*.log; then fail "the wrong password shows in the daemon's log"; fi
daemon_stop
echo "ftp trust: ok"
