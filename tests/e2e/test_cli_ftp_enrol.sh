#!/usr/bin/env bash
# `actiondrop ftp enrol INBOX` against a real vsftpd with TLS on 127.0.0.1 (README.md, "FTP
# pull inboxes"): a self-signed certificate that no CA vouches for is shown by its SHA-256
# fingerprint without a login; with --accept one login is made with it pinned and the
# `sha256:` line to put in the config is printed; with that line the inbox trusts it; a pin
# of another certificate is reported, never replaced; an inbox without TLS or of another
# kind is a usage error.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd_lib.sh"
source "$(dirname "$0")/vsftpd_lib.sh"
ftpd_up s tls
mkdir -p "$R/in" "$R/out"
chown -R "$FTP_USER" "$R"
PORT=${FTPD_PORT[s]}
RIGHT=$(ftpd_sha256 s)
OTHER=$(ftpd_sha256 s other)

# config EXTRA: one ftp inbox with EXTRA keys, one sftp and one plain ftp inbox.
config() {
    cat > "$CONFIG" <<YAML
store: sqlite:$WORK/ledger.db
state_dir: $STATE
inboxes:
  - {name: pull, account: "1000", type: conversions, kind: ftp, host: 127.0.0.1, port: $PORT,
     user: $FTP_USER, password_file: $FTP_PASSWORD_FILE, folder: $R/in, result_folder: $R/out$1}
  - {name: plain, account: "1000", kind: ftp, tls: none, host: 127.0.0.1, port: $PORT,
     user: $FTP_USER, password_file: $FTP_PASSWORD_FILE, folder: $R/in, result_folder: $R/out}
  - {name: other, account: "1000", kind: sftp, host: 127.0.0.1, user: root, password_file: $FTP_PASSWORD_FILE,
     known_hosts: $WORK/known_hosts, folder: $R/in, result_folder: $R/out}
YAML
}
AD=("$ACTIONDROP" --config "$CONFIG")

# 1. The system's CAs do not know it: shown, no login.
config ""
expect_exit 0 "${AD[@]}" ftp enrol pull
grep -qF "SHA-256 fingerprint $RIGHT" "$WORK/last.out" || { cat "$WORK/last.out"; fail "enrol did not show the fingerprint $RIGHT"; }
grep -q "run again with --accept" "$WORK/last.out" || fail "enrol did not say what to do next"
[ "$(ftpd_commands s USER)" = 0 ] || fail "enrol sent a user name to an untrusted server"

# 2. --accept: one login with the certificate pinned, and the line to add.
expect_exit 0 "${AD[@]}" ftp enrol pull --accept
grep -qF "sha256: \"$RIGHT\"" "$WORK/last.out" || { cat "$WORK/last.out"; fail "enrol --accept did not print the sha256 line"; }
[ "$(ftpd_commands s USER)" = 1 ] || fail "enrol --accept should have logged in once, not $(ftpd_commands s USER) times"
grep -q "kind: ftp, host" "$CONFIG" && ! grep -q sha256 "$CONFIG" || fail "enrol rewrote the config"

# 3. With the line in the config, the inbox trusts it.
config ", sha256: \"$RIGHT\""
expect_exit 0 "${AD[@]}" ftp enrol pull
grep -q "is trusted (pinned), and we can log in" "$WORK/last.out" || { cat "$WORK/last.out"; fail "the pinned certificate was not trusted"; }

# 4. A pin of another certificate: reported, never replaced.
config ", sha256: \"$OTHER\""
expect_exit 0 "${AD[@]}" ftp enrol pull
grep -qF "SHA-256 fingerprint $RIGHT" "$WORK/last.out" && grep -qF "pins another one ($OTHER)" "$WORK/last.out" \
    || { cat "$WORK/last.out"; fail "a changed certificate was not reported with both fingerprints"; }
grep -qF "$OTHER" "$CONFIG" || fail "the config was changed"

# 5. No certificate to enrol, or not an ftp inbox: usage errors; the password never shows.
expect_exit 64 "${AD[@]}" ftp enrol plain
expect_exit 64 "${AD[@]}" ftp enrol other
expect_exit 64 "${AD[@]}" ftp enrol nosuch
if grep -rqF "$FTP_PASSWORD" "$WORK"/last.*; then fail "the password was printed"; fi
echo "ftp enrol: ok"
