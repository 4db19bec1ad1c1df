#!/usr/bin/env bash
# FTP drop folders as shipped: deploy/add-advertiser.sh makes two advertisers, a private
# vsftpd runs deploy/vsftpd/vsftpd.conf with the PAM service deploy/vsftpd/actiondrop-ftp.pam
# (paths moved to a scratch tree), and actiondropd runs as its own service user. An
# advertiser uploads with curl and downloads the answer; it stays inside its own folder,
# cannot read the other advertiser's files and cannot write its outbox.
# Needs root (users, chroot, PAM) and vsftpd and curl (deploy/install-deps.sh --test).
source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
[ "$(id -u)" = 0 ] || fail "this test creates users and runs vsftpd: run it as root (CI does)"
for tool in /usr/sbin/vsftpd curl useradd userdel groupdel chpasswd setpriv; do
    command -v "$tool" > /dev/null || fail "$tool is missing: run deploy/install-deps.sh --test"
done
[ -d /etc/pam.d ] || fail "no /etc/pam.d: vsftpd checks passwords through PAM"
DEPLOY="$SOURCE_DIR/deploy"
T=60  # seconds: the deadline of every wait and of every client run

BASE=$(chroot_base ftp) || fail "no folder owned by root and writable only by root to hold the chroots"
DROP="$BASE/srv"       # stands for /srv/actiondrop
SVCDIR="$BASE/service" # the service's state, store, config and binary

SUFFIX=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
SVC="adsvc$SUFFIX"; UPG="adup$SUFFIX"; ADV1="adftpa$SUFFIX"; ADV2="adftpb$SUFFIX"
PAM_NAME="actiondrop-ftp-e2e-$SUFFIX"
PW1="pw1-$SUFFIX-$RANDOM"; PW2="pw2-$SUFFIX-$RANDOM"
FTPD_PID=""; DAEMON_PID=""

# Ends each process, its process group and every descendant (kill_tree), by process id only.
cleanup() {
    set +e
    [ -n "$FTPD_PID" ] && { kill_tree "$FTPD_PID"; kill -9 -- "-$FTPD_PID" 2> /dev/null; }
    [ -n "$DAEMON_PID" ] && { kill_tree "$DAEMON_PID"; kill -9 -- "-$DAEMON_PID" 2> /dev/null; }
    rm -f "/etc/pam.d/$PAM_NAME"
    remove_accounts "$ADV1" "$ADV2" "$SVC" "$UPG"
    rm -rf "$BASE" "$WORK"
}
trap cleanup EXIT

STORE="sqlite:$SVCDIR/ledger.db"
mkdir -p "$SVCDIR/bin" "$SVCDIR/state"
setup_ledger
install -m 0755 "$ACTIONDROPD" "$SVCDIR/bin/actiondropd"

# Two advertisers through the shipped script, with passwords for FTP.
add() { bash "$DEPLOY/add-advertiser.sh" "$@" --root "$DROP" --service "$SVC" --upload-group "$UPG" --unit-dropins "$WORK/dropins"; }
add "$ADV1" 1000 --type conversions > "$WORK/add1.out" || fail "add-advertiser.sh failed for $ADV1"
add "$ADV2" 2000 --type conversions > "$WORK/add2.out" || fail "add-advertiser.sh failed for $ADV2"
# The service account gets a password too, to show that only the upload group may log in.
printf '%s:%s\n%s:%s\n%s:%s\n' "$ADV1" "$PW1" "$ADV2" "$PW2" "$SVC" "$PW1" | chpasswd || fail "chpasswd failed"

cat > "$SVCDIR/actiondrop.yaml" <<YAML
store: $STORE
state_dir: $SVCDIR/state
sweep_interval: 200ms
inboxes:
$(grep -h '^  - {name:' "$WORK/add1.out" "$WORK/add2.out" | sed 's/settle: 2s/settle: 300ms/')
YAML
grep -q "path: $DROP/$ADV1/inbox, outbox: $DROP/$ADV1/outbox" "$SVCDIR/actiondrop.yaml" || { cat "$SVCDIR/actiondrop.yaml"; fail "no inbox entry printed"; }
chown -R "$SVC:$SVC" "$SVCDIR"
chmod 0750 "$SVCDIR"
DLOG="$WORK/daemon.log"; : > "$DLOG"
setsid setpriv --reuid "$SVC" --regid "$SVC" --init-groups \
    bash -c 'umask 0027; exec "$0" --config "$1"' "$SVCDIR/bin/actiondropd" "$SVCDIR/actiondrop.yaml" 2> "$DLOG" &
DAEMON_PID=$!; disown

# A private vsftpd: the shipped config with its paths, ports and PAM service moved, plus
# what a test server needs (loopback, foreground, no seccomp sandbox).
read -r PORT PASV_MIN PASV_MAX < <(python3 - <<'PY'
import random, socket
for _ in range(200):
    base = random.randrange(20000, 60000)
    socks = []
    try:
        for p in range(base, base + 11):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks: s.close()
    print(base, base + 1, base + 10); break
PY
)
[ -n "${PORT:-}" ] || fail "no free port range on 127.0.0.1"
mkdir -p "$BASE/empty" "$WORK/ftp"
chmod 0755 "$BASE/empty"
sed -e "s/ingroup actiondrop-upload/ingroup $UPG/" "$DEPLOY/vsftpd/actiondrop-ftp.pam" > "/etc/pam.d/$PAM_NAME"
grep -q "ingroup $UPG" "/etc/pam.d/$PAM_NAME" || fail "the PAM file has no group rule to move"
CONF="$WORK/ftp/vsftpd.conf"
sed -e "s#/srv/actiondrop#$DROP#g" \
    -e "s#^pam_service_name=.*#pam_service_name=$PAM_NAME#" \
    -e "s#^secure_chroot_dir=.*#secure_chroot_dir=$BASE/empty#" \
    -e "s#^pasv_min_port=.*#pasv_min_port=$PASV_MIN#" \
    -e "s#^pasv_max_port=.*#pasv_max_port=$PASV_MAX#" \
    "$DEPLOY/vsftpd/vsftpd.conf" > "$CONF"
grep -qx "local_root=$DROP/\$USER" "$CONF" || fail "the config has no local_root to move"
cat >> "$CONF" <<CONF
listen_address=127.0.0.1
listen_port=$PORT
pasv_address=127.0.0.1
background=NO
seccomp_sandbox=NO
xferlog_file=$WORK/ftp/xferlog
vsftpd_log_file=$WORK/ftp/vsftpd.log
CONF
FLOG="$WORK/ftp/stderr.log"; : > "$FLOG"
setsid /usr/sbin/vsftpd "$CONF" > "$FLOG" 2>&1 &
FTPD_PID=$!; disown

wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        if [ $SECONDS -ge $deadline ] || ! kill -0 "$DAEMON_PID" 2> /dev/null || ! kill -0 "$FTPD_PID" 2> /dev/null; then
            echo "--- actiondropd:" >&2; cat "$DLOG" >&2; echo "--- vsftpd:" >&2; cat "$FLOG" "$WORK/ftp/vsftpd.log" >&2 2> /dev/null
            fail "gave up (deadline, or a server exited) waiting for: $*"
        fi
        sleep 0.05
    done
}
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2> /dev/null; }
wait_for $T port_open
wait_for $T grep -q "serving 2 inboxes" "$DLOG"

# ftp_as USER PASSWORD CURL-ARGS...: one curl run against the server, with deadlines.
ftp_as() {
    local user=$1 pw=$2; shift 2
    timeout $T curl -sS --max-time $T --connect-timeout 10 --path-as-is --user "$user:$pw" "$@"
}
URL="ftp://127.0.0.1:$PORT"
# refused CODE WHAT USER PASSWORD CURL-ARGS...: curl must fail with exactly CODE (9: a
# folder cannot be entered, 21: a command was refused, 25: an upload was refused, 67: the
# login was refused), so a broken connection never counts as a refusal.
refused() {
    local want=$1 what=$2 got=0; shift 2
    ftp_as "$@" > "$WORK/refused.out" 2>&1 || got=$?
    [ "$got" = "$want" ] || { cat "$WORK/refused.out" >&2; fail "$what: curl exited $got, expected $want (refused)"; }
}

# A login that vsftpd itself refuses is a broken environment or config, not a pass.
if ! ftp_as "$ADV1" "$PW1" --list-only "$URL/" > "$WORK/top.out" 2> "$WORK/top.err"; then
    cat "$WORK/top.err" "$FLOG" "$WORK/ftp/vsftpd.log" 2> /dev/null >&2
    fail "vsftpd refused $ADV1's login or listing (see above)"
fi
[ "$(sort "$WORK/top.out" | tr -d '\r' | tr '\n' ' ')" = "inbox outbox " ] || { cat "$WORK/top.out"; fail "$ADV1 sees more than inbox and outbox at its top"; }

# Advertiser 1 uploads conversions and fetches the answer.
D=$(days_ago 1)
printf 'ActionId,CampaignId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nF-1,CMP,19816,P-77,O-1,%s,100.00\r\nF-2,CMP,19816,P-77,O-2,%s,40.00\r\n' "$D" "$D" > "$WORK/conv1.csv"
ftp_as "$ADV1" "$PW1" -T "$WORK/conv1.csv" "$URL/inbox/" || fail "$ADV1 could not upload"
wait_for $T test -f "$DROP/$ADV1/outbox/conv1.csv_summary.json"
mkdir -p "$WORK/dl"
ftp_as "$ADV1" "$PW1" -o "$WORK/dl/result_conv1.csv" "$URL/outbox/result_conv1.csv" || fail "$ADV1 could not download its result"
check_csv "$WORK/dl/result_conv1.csv" /dev/stdin <<'CSV' || fail "the downloaded result is not the expected one"
Line,ActionId,Outcome,ErrorCode
2,F-1,APPLIED,
3,F-2,APPLIED,
CSV
[ ! -e "$DROP/$ADV1/inbox/conv1.csv" ] || fail "conv1.csv was not claimed out of the inbox"
ad action show --account 1000 F-2 > /dev/null || fail "F-2 is not in the ledger"

# Advertiser 2 (account 2000) is served from its own folders; it uploads under a name the
# pattern does not match and renames the file once complete (deploy/README.md).
printf 'ActionId,CampaignId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nK-1,CMP,T1,P-1,O-1,%s,1000\r\n' "$D" > "$WORK/secret2.csv"
ftp_as "$ADV2" "$PW2" -T "$WORK/secret2.csv" "$URL/inbox/secret2.csv.part" \
    -Q "-RNFR /inbox/secret2.csv.part" -Q "-RNTO /inbox/secret2.csv" || fail "$ADV2 could not upload and rename"
wait_for $T test -f "$DROP/$ADV2/outbox/secret2.csv_summary.json"
[ "$(json_field "$DROP/$ADV2/outbox/secret2.csv_summary.json" applied)" = 1 ] || fail "$ADV2's file was not applied"

# Uploads keep the inbox's group (the service's) with group read, whatever the client asks.
printf 'x\n' > "$WORK/probe.txt"
ftp_as "$ADV1" "$PW1" -T "$WORK/probe.txt" "$URL/inbox/" || fail "$ADV1 could not upload the probe"
[ "$(stat -c '%U:%G %a' "$DROP/$ADV1/inbox/probe.txt")" = "$ADV1:$SVC 660" ] || fail "upload modes: $(stat -c '%U:%G %a' "$DROP/$ADV1/inbox/probe.txt")"
refused 21 "$ADV1 changed an upload's mode" "$ADV1" "$PW1" -Q "SITE CHMOD 600 inbox/probe.txt" "$URL/"
[ "$(stat -c %a "$DROP/$ADV1/inbox/probe.txt")" = 660 ] || fail "an upload's mode was changed"
# Nor the mode of its inbox (which it owns), its umask, or a file's time (MDTM with a time
# sets it unless vsftpd.conf says mdtm_write=NO). FTP has no command that makes a link.
probe_time=$(stat -c %Y "$DROP/$ADV1/inbox/probe.txt")
refused 21 "$ADV1 changed its inbox's mode" "$ADV1" "$PW1" -Q "SITE CHMOD 1777 inbox" "$URL/"
refused 21 "$ADV1 changed its umask" "$ADV1" "$PW1" -Q "SITE UMASK 077" "$URL/"
refused 21 "$ADV1 set an upload's time" "$ADV1" "$PW1" -Q "MDTM 20200101000000 inbox/probe.txt" "$URL/"
refused 21 "$ADV1 removed its inbox" "$ADV1" "$PW1" -Q "RMD inbox" "$URL/"
[ "$(stat -c '%U:%G %a' "$DROP/$ADV1/inbox")" = "$ADV1:$SVC 2770" ] || fail "inbox: $(stat -c '%U:%G %a' "$DROP/$ADV1/inbox")"
[ "$(stat -c %Y "$DROP/$ADV1/inbox/probe.txt")" = "$probe_time" ] || fail "an upload's time was changed"

# Advertiser 1 stays in its folder: /.. is its top, and advertiser 2's files are out of reach.
ftp_as "$ADV1" "$PW1" --list-only "$URL/../../" > "$WORK/up.out" || fail "listing /../.. failed"
[ "$(sort "$WORK/up.out" | tr -d '\r' | tr '\n' ' ')" = "inbox outbox " ] || { cat "$WORK/up.out"; fail "$ADV1 climbed out of its folder"; }
for path in "../$ADV2/outbox/result_secret2.csv" "../../$ADV2/outbox/secret2.csv_summary.json" \
    "%2F${DROP#/}/$ADV2/outbox/result_secret2.csv" "../.authorized_keys/$ADV2"; do
    refused 9 "$ADV1 read $path" "$ADV1" "$PW1" -o "$WORK/dl/stolen" "$URL/$path"
    [ ! -s "$WORK/dl/stolen" ] || fail "$ADV1 got $path"
done
refused 9 "$ADV1 listed $ADV2's folder" "$ADV1" "$PW1" --list-only "$URL/../$ADV2/"
refused 67 "$ADV2's password logged $ADV1 in" "$ADV1" "$PW2" --list-only "$URL/"
refused 67 "$ADV1's password logged in as $ADV2" "$ADV2" "$PW1" --list-only "$URL/"
refused 67 "the service account logged in over FTP" "$SVC" "$PW1" --list-only "$URL/"

# ... and cannot write where it should not.
refused 25 "$ADV1 wrote its outbox" "$ADV1" "$PW1" -T "$WORK/conv1.csv" "$URL/outbox/forged.csv"
refused 25 "$ADV1 wrote its top folder" "$ADV1" "$PW1" -T "$WORK/conv1.csv" "$URL/forged.csv"
refused 21 "$ADV1 removed a result" "$ADV1" "$PW1" -Q "DELE outbox/result_conv1.csv" "$URL/"
refused 21 "$ADV1 made a folder" "$ADV1" "$PW1" -Q "MKD inbox/sub" "$URL/"
[ ! -e "$DROP/$ADV1/outbox/forged.csv" ] && [ ! -e "$DROP/$ADV1/forged.csv" ] && [ ! -e "$DROP/$ADV1/inbox/sub" ] \
    && [ -f "$DROP/$ADV1/outbox/result_conv1.csv" ] || fail "a refused write left a trace"

grep -q "inbox=$ADV1 account=1000 .* file=conv1.csv status=COMPLETE total=2 applied=2" "$DLOG" || { cat "$DLOG"; fail "no log line for conv1.csv"; }
echo "ftp drop folders: ok"
