#!/usr/bin/env bash
# SFTP drop folders as shipped: deploy/add-advertiser.sh makes two advertisers, a private
# sshd runs the drop-in deploy/openssh/actiondrop-upload.conf (paths moved to a scratch
# tree), and actiondropd runs as its own unprivileged service user. An advertiser uploads
# with the stock sftp client and downloads the answer; it stays inside its own folder,
# cannot read the other advertiser's files, cannot write its outbox, and gets no shell.
# Needs root (users, chroot) and openssh-server (deploy/install-deps.sh --test).
source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
[ "$(id -u)" = 0 ] || fail "this test creates users and runs sshd: run it as root (CI does)"
for tool in /usr/sbin/sshd sftp ssh ssh-keygen useradd userdel groupdel setpriv; do
    command -v "$tool" > /dev/null || fail "$tool is missing: run deploy/install-deps.sh --test"
done
DEPLOY="$SOURCE_DIR/deploy"
T=60  # seconds: the deadline of every wait and of every client run

BASE=$(chroot_base sftp) || fail "no folder owned by root and writable only by root to hold the chroots"
DROP="$BASE/srv"      # stands for /srv/actiondrop
SVCDIR="$BASE/service" # the service's state, store, config and binary

SUFFIX=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
SVC="adsvc$SUFFIX"; UPG="adup$SUFFIX"; ADV1="adsftpa$SUFFIX"; ADV2="adsftpb$SUFFIX"
SSHD_PID=""; DAEMON_PID=""

# Ends each process, its process group and every descendant (kill_tree: sshd's
# per-connection children start their own sessions), by process id only.
cleanup() {
    set +e
    [ -n "$SSHD_PID" ] && { kill_tree "$SSHD_PID"; kill -9 -- "-$SSHD_PID" 2> /dev/null; }
    [ -n "$DAEMON_PID" ] && { kill_tree "$DAEMON_PID"; kill -9 -- "-$DAEMON_PID" 2> /dev/null; }
    remove_accounts "$ADV1" "$ADV2" "$SVC" "$UPG"
    rm -rf "$BASE" "$WORK"
}
trap cleanup EXIT

# The daemon's own copy of the store, config and binary, owned by the service user.
STORE="sqlite:$SVCDIR/ledger.db"
mkdir -p "$SVCDIR/bin" "$SVCDIR/state"
setup_ledger
install -m 0755 "$ACTIONDROPD" "$SVCDIR/bin/actiondropd"

# Two advertisers through the shipped script; a second run changes nothing and still works.
ssh-keygen -q -t ed25519 -N '' -C adv1 -f "$WORK/key1"
ssh-keygen -q -t ed25519 -N '' -C adv2 -f "$WORK/key2"
add() { bash "$DEPLOY/add-advertiser.sh" "$@" --root "$DROP" --service "$SVC" --upload-group "$UPG" --unit-dropins "$WORK/dropins"; }
add "$ADV1" 1000 --type conversions --key "$WORK/key1.pub" > "$WORK/add1.out" || fail "add-advertiser.sh failed for $ADV1"
add "$ADV2" 2000 --type conversions --key "$(cat "$WORK/key2.pub")" > "$WORK/add2.out" || fail "add-advertiser.sh failed for $ADV2"
add "$ADV1" 1000 --type conversions --key "$WORK/key1.pub" > "$WORK/add1.again" || fail "add-advertiser.sh is not idempotent"
[ "$(wc -l < "$DROP/.authorized_keys/$ADV1")" = 1 ] || fail "a second run added the key again"
expect_exit 1 bash "$DEPLOY/add-advertiser.sh" root 1000 --root "$DROP" --service "$SVC" --upload-group "$UPG"
grep -q "login shell" "$WORK/last.err" || fail "add-advertiser.sh did not refuse to take over root"
expect_exit 1 bash "$DEPLOY/add-advertiser.sh" "$ADV1" 1000 --root "$DROP" --key "not a key" --service "$SVC" --upload-group "$UPG"

# A damaged tree is put back by running the script again.
chmod 0777 "$DROP/$ADV1/inbox"; chown root "$DROP/$ADV1/outbox"; chmod 0775 "$DROP/$ADV1"
add "$ADV1" 1000 --type conversions > /dev/null || fail "add-advertiser.sh could not repair $ADV1"

# The permission model (deploy/README.md).
mode() { stat -c '%U:%G %a' "$1"; }
[ "$(mode "$DROP/$ADV1")" = "root:root 755" ] || fail "chroot: $(mode "$DROP/$ADV1")"
[ "$(mode "$DROP/$ADV1/inbox")" = "$ADV1:$SVC 2770" ] || fail "inbox: $(mode "$DROP/$ADV1/inbox")"
[ "$(mode "$DROP/$ADV1/outbox")" = "$SVC:$ADV1 2750" ] || fail "outbox: $(mode "$DROP/$ADV1/outbox")"
id -nG "$ADV1" | tr ' ' '\n' | grep -qx "$UPG" || fail "$ADV1 is not in $UPG"
! id -nG "$ADV1" | tr ' ' '\n' | grep -qx "$SVC" || fail "$ADV1 must not be in the service group"
[ "$(getent passwd "$ADV1" | cut -d: -f7)" = /usr/sbin/nologin ] || fail "$ADV1 has a login shell"
[ "$(ls -A "$DROP/$ADV1/inbox" "$DROP/$ADV1/outbox")" = "$(printf '%s:\n\n%s:' "$DROP/$ADV1/inbox" "$DROP/$ADV1/outbox")" ] \
    || fail "the new folders are not empty: $(ls -A "$DROP/$ADV1/inbox" "$DROP/$ADV1/outbox")"

# The unit's drop-ins: the service may write each advertiser's inbox/ and outbox/, nothing else.
for a in "$ADV1" "$ADV2"; do
    grep -qx "ReadWritePaths=-$DROP/$a/inbox -$DROP/$a/outbox" "$WORK/dropins/drop-$a.conf" \
        || { cat "$WORK/dropins/drop-$a.conf"; fail "the drop-in of $a does not name its two folders"; }
done
[ "$(ls "$WORK/dropins")" = "$(printf 'drop-%s.conf\ndrop-%s.conf' "$ADV1" "$ADV2" | sort)" ] || fail "drop-ins: $(ls "$WORK/dropins")"
RW=()
for p in $(sed -n 's/^ReadWritePaths=//p' "$WORK"/dropins/*.conf); do RW+=("${p#-}"); done
if command -v systemd-analyze > /dev/null; then
    # The unit with these drop-ins, as systemd would read it (verify needs the binary there).
    mkdir -p "$WORK/unit/actiondropd.service.d"
    sed "s|/usr/bin/actiondropd|$ACTIONDROPD|g" "$SOURCE_DIR/systemd/actiondropd.service" > "$WORK/unit/actiondropd.service"
    cp "$WORK"/dropins/*.conf "$WORK/unit/actiondropd.service.d/"
    systemd-analyze verify "$WORK/unit/actiondropd.service" > "$WORK/verify.out" 2>&1 || { cat "$WORK/verify.out"; fail "systemd-analyze verify refused the unit and its drop-ins"; }
    [ ! -s "$WORK/verify.out" ] || { cat "$WORK/verify.out"; fail "systemd-analyze verify warns about the unit or its drop-ins"; }
fi

# The printed inbox entries make the daemon's config as they are.
cat > "$SVCDIR/actiondrop.yaml" <<YAML
store: $STORE
state_dir: $SVCDIR/state
sweep_interval: 200ms
inboxes:
$(grep '^  - {name:' "$WORK/add1.out" "$WORK/add2.out" | cut -d: -f2- | sed 's/settle: 2s/settle: 300ms/')
YAML
grep -q "path: $DROP/$ADV1/inbox, outbox: $DROP/$ADV1/outbox" "$SVCDIR/actiondrop.yaml" || { cat "$SVCDIR/actiondrop.yaml"; fail "no inbox entry printed"; }
chown -R "$SVC:$SVC" "$SVCDIR"
chmod 0750 "$SVCDIR"

# The daemon as the service user with the unit's umask, in its own process group, and
# where unshare can do it, with the unit's view of the drop folders: the whole tree
# read-only but the folders the drop-ins name, each a mount of its own, as systemd makes
# ReadWritePaths= (so a claim crosses from one mount to the state folder's as it does there).
DLOG="$WORK/daemon.log"; : > "$DLOG"
if unshare --mount --propagation private true 2> /dev/null; then
    SANDBOX=(unshare --mount --propagation private bash -c '
        drop=$1; shift
        mount --bind "$drop" "$drop" && mount -o remount,bind,ro "$drop" || exit 70
        while [ "$1" != -- ]; do
            mount --bind "$1" "$1" && mount -o remount,bind,rw "$1" || exit 70
            shift
        done
        shift
        exec "$@"' sandbox "$DROP" "${RW[@]}" --)
else
    echo "note: unshare cannot make a mount namespace here; the daemon sees the whole tree writable"
    SANDBOX=()
fi
setsid "${SANDBOX[@]}" setpriv --reuid "$SVC" --regid "$SVC" --init-groups \
    bash -c 'umask 0027; exec "$0" --config "$1"' "$SVCDIR/bin/actiondropd" "$SVCDIR/actiondrop.yaml" 2> "$DLOG" &
DAEMON_PID=$!; disown

# A private sshd: loopback, a free port, its own host key, and the shipped drop-in with its
# paths and group moved into the scratch tree. The main file follows Debian's (the drop-in
# is included first, and the lines after it must still parse outside its Match block).
mkdir -p /run/sshd "$WORK/ssh"
PORT=$(free_port)
ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh/host_key"
sed -e "s#/srv/actiondrop#$DROP#g" -e "s#Match Group actiondrop-upload#Match Group $UPG#" \
    "$DEPLOY/openssh/actiondrop-upload.conf" > "$WORK/ssh/actiondrop-upload.conf"
grep -q "ChrootDirectory $DROP/%u" "$WORK/ssh/actiondrop-upload.conf" || fail "the drop-in has no ChrootDirectory to move"
cat > "$WORK/ssh/sshd_config" <<CONF
Include $WORK/ssh/actiondrop-upload.conf
Port $PORT
ListenAddress 127.0.0.1
HostKey $WORK/ssh/host_key
PidFile $WORK/ssh/sshd.pid
UsePAM no
PermitRootLogin no
LogLevel VERBOSE
KbdInteractiveAuthentication no
X11Forwarding yes
Subsystem sftp internal-sftp
CONF
/usr/sbin/sshd -t -f "$WORK/ssh/sshd_config" || fail "sshd rejects the config made from the drop-in"
# The SFTP requests the drop-in denies, each one a name that sftp-server knows.
DENIED="symlink,hardlink,setstat,fsetstat,lsetstat,mkdir,rmdir"
KNOWN=" $(/usr/lib/openssh/sftp-server -Q requests | tr '\n' ' ') "
for request in ${DENIED//,/ }; do
    [[ $KNOWN == *" $request "* ]] || fail "sftp-server knows no request $request: it knows$KNOWN"
done
/usr/sbin/sshd -T -f "$WORK/ssh/sshd_config" -C "user=$ADV1,host=localhost,addr=127.0.0.1" > "$WORK/ssh/effective"
for want in "chrootdirectory $DROP/%u" "forcecommand internal-sftp -u 0007 -P $DENIED" "allowtcpforwarding no" \
    "allowstreamlocalforwarding no" "allowagentforwarding no" "x11forwarding no" "permittunnel no" \
    "permittty no" "passwordauthentication no" "authorizedkeysfile $DROP/.authorized_keys/%u"; do
    grep -qxF "$want" "$WORK/ssh/effective" || fail "sshd's settings for $ADV1 lack: $want"
done
# Accounts outside the upload group keep the host's settings.
/usr/sbin/sshd -T -f "$WORK/ssh/sshd_config" -C "user=$SVC,host=localhost,addr=127.0.0.1" > "$WORK/ssh/effective.other"
grep -qx "chrootdirectory none" "$WORK/ssh/effective.other" && grep -qx "x11forwarding yes" "$WORK/ssh/effective.other" \
    || fail "the drop-in changes accounts outside the upload group"
SLOG="$WORK/sshd.log"; : > "$SLOG"
setsid /usr/sbin/sshd -D -e -f "$WORK/ssh/sshd_config" 2> "$SLOG" &
SSHD_PID=$!; disown

wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        if [ $SECONDS -ge $deadline ] || ! kill -0 "$DAEMON_PID" 2> /dev/null || ! kill -0 "$SSHD_PID" 2> /dev/null; then
            echo "--- actiondropd:" >&2; cat "$DLOG" >&2; echo "--- sshd:" >&2; cat "$SLOG" >&2
            fail "gave up (deadline, or a server exited) waiting for: $*"
        fi
        sleep 0.05
    done
}
wait_for $T grep -q "Server listening on 127.0.0.1 port $PORT" "$SLOG"
wait_for $T grep -q "serving 2 inboxes" "$DLOG"
if [ ${#SANDBOX[@]} -gt 0 ]; then
    # The sandbox holds: the chroot's top is read-only to the daemon, its inbox is not.
    grep -q " $DROP ro[, ]" "/proc/$DAEMON_PID/mountinfo" && grep -q " $DROP/$ADV1/inbox rw[, ]" "/proc/$DAEMON_PID/mountinfo" \
        || { grep "$DROP" "/proc/$DAEMON_PID/mountinfo"; fail "the daemon does not run with the drop-ins' view of $DROP"; }
fi
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$WORK/ssh/host_key.pub")" > "$WORK/known_hosts"

# sftp_as USER KEY: runs the sftp batch on stdin (-b: the first failing command fails it).
sftp_as() {
    timeout $T sftp -F /dev/null -b - -P "$PORT" -i "$2" -o BatchMode=yes -o IdentitiesOnly=yes \
        -o IdentityAgent=none -o UserKnownHostsFile="$WORK/known_hosts" -o GlobalKnownHostsFile=/dev/null \
        -o StrictHostKeyChecking=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 "$1@127.0.0.1"
}

# Advertiser 1 uploads conversions and fetches the answer.
D=$(days_ago 1)
printf 'ActionId,CampaignId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nS-1,CMP,19816,P-77,O-1,%s,100.00\r\nS-2,CMP,19816,P-77,O-2,%s,40.00\r\n' "$D" "$D" > "$WORK/conv1.csv"
# The stock client asks for the local file's mode; see deploy/README.md on 0600 files.
chmod 0644 "$WORK/conv1.csv"
sftp_as "$ADV1" "$WORK/key1" > "$WORK/put1.out" 2>&1 <<EOF || { cat "$WORK/put1.out" "$SLOG"; fail "$ADV1 could not upload"; }
put $WORK/conv1.csv /inbox/conv1.csv
EOF
wait_for $T test -f "$DROP/$ADV1/outbox/conv1.csv_summary.json"
mkdir -p "$WORK/dl"
sftp_as "$ADV1" "$WORK/key1" > "$WORK/get1.out" 2>&1 <<EOF || { cat "$WORK/get1.out"; fail "$ADV1 could not download its answer"; }
ls -l /outbox
get /outbox/result_conv1.csv $WORK/dl/
get /outbox/conv1.csv_summary.json $WORK/dl/
EOF
check_csv "$WORK/dl/result_conv1.csv" /dev/stdin <<'CSV' || fail "the downloaded result is not the expected one"
Line,ActionId,Outcome,ErrorCode
2,S-1,APPLIED,
3,S-2,APPLIED,
CSV
[ "$(json_field "$WORK/dl/conv1.csv_summary.json" applied)" = 2 ] || fail "summary: not 2 applied"
[ ! -e "$DROP/$ADV1/inbox/conv1.csv" ] || fail "conv1.csv was not claimed out of the inbox"
ad action show --account 1000 S-2 > /dev/null || fail "S-2 is not in the ledger"

# Advertiser 2 (account 2000) is served from its own folders; it uploads under a name the
# pattern does not match and renames the file once complete (deploy/README.md).
printf 'ActionId,CampaignId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nJ-1,CMP,T1,P-1,O-1,%s,1000\r\n' "$D" > "$WORK/conv2.csv"
chmod 0644 "$WORK/conv2.csv"
sftp_as "$ADV2" "$WORK/key2" > "$WORK/put2.out" 2>&1 <<EOF || { cat "$WORK/put2.out"; fail "$ADV2 could not upload"; }
put $WORK/conv2.csv /inbox/secret2.csv.part
rename /inbox/secret2.csv.part /inbox/secret2.csv
EOF
wait_for $T test -f "$DROP/$ADV2/outbox/secret2.csv_summary.json"
[ "$(json_field "$DROP/$ADV2/outbox/secret2.csv_summary.json" applied)" = 1 ] || fail "$ADV2's file was not applied"

# An upload that the service does not take (pattern *.csv) shows the modes uploads get:
# the inbox's group (the service's), readable by that group.
printf 'x\n' > "$WORK/probe.txt"; chmod 0644 "$WORK/probe.txt"
sftp_as "$ADV1" "$WORK/key1" > "$WORK/probe.out" 2>&1 <<EOF || { cat "$WORK/probe.out"; fail "$ADV1 could not upload the probe"; }
put $WORK/probe.txt /inbox/probe.txt
EOF
[ "$(stat -c '%U:%G' "$DROP/$ADV1/inbox/probe.txt")" = "$ADV1:$SVC" ] || fail "an upload is not in the service's group: $(mode "$DROP/$ADV1/inbox/probe.txt")"
[ $((8#$(stat -c %a "$DROP/$ADV1/inbox/probe.txt") & 8#040)) -ne 0 ] || fail "an upload is not readable by the service's group"

# Advertiser 1 sees only its own folder: / and /.. are the chroot.
sftp_as "$ADV1" "$WORK/key1" > "$WORK/ls.out" 2>&1 <<EOF || { cat "$WORK/ls.out"; fail "$ADV1 could not list its folder"; }
ls -1a /
ls -1a /../
ls -1a /../..
EOF
listed=$(grep -v '^sftp>' "$WORK/ls.out" | tr -s ' \t' '\n\n' | grep -v '^$' | xargs -n 1 basename | sort -u | tr '\n' ' ')
[ "$listed" = ". .. inbox outbox " ] || { cat "$WORK/ls.out"; fail "$ADV1 sees more than its own folder: $listed"; }
! grep -q "$ADV2\|authorized_keys\|\.processing" "$WORK/ls.out" || fail "$ADV1 sees names outside its folder"

# ... and cannot reach advertiser 2's files by any path, nor write where it should not.
# refused WHAT COMMAND: the session works (pwd answers) and the server refuses the command
# (sftp -b exits 1; a broken connection would exit 255, which never counts as a refusal).
refused() {
    local got=0
    printf 'pwd\n%s\n' "$2" | sftp_as "$ADV1" "$WORK/key1" > "$WORK/refused.out" 2>&1 || got=$?
    if [ "$got" != 1 ] || ! grep -q "^Remote working directory: /$" "$WORK/refused.out" || ! grep -qxF "sftp> $2" "$WORK/refused.out"; then
        cat "$WORK/refused.out" >&2; fail "$1: sftp exited $got, expected a refusal"
    fi
}
for path in "/../$ADV2/outbox/result_secret2.csv" "$DROP/$ADV2/outbox/result_secret2.csv" \
    "/../../$ADV2/outbox/secret2.csv_summary.json" "/../.authorized_keys/$ADV2"; do
    refused "$ADV1 read $path" "get $path $WORK/dl/stolen"
    [ ! -e "$WORK/dl/stolen" ] || fail "$ADV1 got $path"
done
refused "$ADV1 listed $ADV2's folder" "ls /../$ADV2"
refused "$ADV1 wrote its outbox" "put $WORK/conv1.csv /outbox/forged.csv"
refused "$ADV1 wrote the top of its folder" "put $WORK/conv1.csv /forged.csv"
refused "$ADV1 made a folder at the top" "mkdir /forged"
refused "$ADV1 renamed its inbox" "rename /inbox /inbox2"
refused "$ADV1 removed a result" "rm /outbox/result_conv1.csv"
# Claims are taken out of the inbox into the service's state folder: nothing of the
# service's own lives where the advertiser can write.
[ -z "$(find "$DROP/$ADV1/inbox" -mindepth 1 -maxdepth 1 -name '.*')" ] || fail "the service left a name in the inbox"
# Nothing in its inbox can become a link, or change its mode: a link could lead the service
# out of the inbox, and a mode changed on inbox/ (the advertiser owns it) could lock the
# service out of claiming (group write removed, or a sticky bit). Renames stay allowed.
refused "$ADV1 made a symbolic link" "ln -s /inbox/probe.txt /inbox/link.csv"
refused "$ADV1 made a symbolic link out of its folder" "ln -s /etc/passwd /inbox/passwd.csv"
refused "$ADV1 made a hard link" "ln /inbox/probe.txt /inbox/hard.csv"
refused "$ADV1 changed the mode of its inbox" "chmod 1777 /inbox"
refused "$ADV1 changed the mode of an upload" "chmod 600 /inbox/probe.txt"
refused "$ADV1 changed the group of an upload" "chgrp $(id -g "$ADV1") /inbox/probe.txt"
refused "$ADV1 made a folder in its inbox" "mkdir /inbox/sub"
for name in link.csv passwd.csv hard.csv sub; do
    [ ! -e "$DROP/$ADV1/inbox/$name" ] && [ ! -L "$DROP/$ADV1/inbox/$name" ] || fail "a refused request made inbox/$name"
done
[ "$(stat -c %h "$DROP/$ADV1/inbox/probe.txt")" = 1 ] || fail "probe.txt has another name"
[ "$(mode "$DROP/$ADV1/inbox")" = "$ADV1:$SVC 2770" ] || fail "inbox: $(mode "$DROP/$ADV1/inbox")"
[ "$(mode "$DROP/$ADV1/inbox/probe.txt")" = "$ADV1:$SVC 640" ] || fail "probe.txt: $(mode "$DROP/$ADV1/inbox/probe.txt")"
sftp_as "$ADV1" "$WORK/key1" > "$WORK/rename.out" 2>&1 <<EOF || { cat "$WORK/rename.out"; fail "$ADV1 could not rename an upload"; }
rename /inbox/probe.txt /inbox/probe2.txt
rm /inbox/probe2.txt
EOF
[ ! -e "$DROP/$ADV1/outbox/forged.csv" ] && [ ! -e "$DROP/$ADV1/forged.csv" ] && [ -f "$DROP/$ADV1/outbox/result_conv1.csv" ] \
    || fail "a refused write left a trace"
got=0; sftp_as "$ADV2" "$WORK/key1" < /dev/null > "$WORK/deny.out" 2>&1 || got=$?
[ "$got" = 255 ] && grep -q "Permission denied (publickey)" "$WORK/deny.out" || { cat "$WORK/deny.out"; fail "advertiser 1's key and $ADV2: exit $got, expected a refused login"; }

# No shell: a command runs the forced internal-sftp, never the command itself.
out=$(timeout $T ssh -F /dev/null -p "$PORT" -i "$WORK/key1" -o BatchMode=yes -o IdentitiesOnly=yes \
    -o UserKnownHostsFile="$WORK/known_hosts" -o StrictHostKeyChecking=yes "$ADV1@127.0.0.1" 'echo shell-$((6*7))' < /dev/null 2>&1 || true)
! grep -q "shell-42" <<< "$out" || fail "$ADV1 ran a shell command"

# A file uploaded with mode 0600 (the stock client keeps the local mode) cannot be read by
# the service: it is answered at once as QUARANTINED, saying why, and set aside; the
# service does not retry it for ever, and other files keep flowing. In the unit's sandbox
# the inbox and the claims folder are different mounts, so no rename can take the file:
# it must be answered all the same.
cp "$WORK/conv1.csv" "$WORK/private.csv"; chmod 0600 "$WORK/private.csv"
sftp_as "$ADV1" "$WORK/key1" > "$WORK/put3.out" 2>&1 <<EOF || { cat "$WORK/put3.out"; fail "$ADV1 could not upload a 0600 file"; }
put $WORK/private.csv /inbox/private.csv
EOF
wait_for $T test -f "$DROP/$ADV1/outbox/private.csv_summary.json"
S="$DROP/$ADV1/outbox/private.csv_summary.json"
[ "$(json_field "$S" status)" = REJECTED ] || fail "0600 upload: not REJECTED"
[ "$(json_field "$S" error_code)" = QUARANTINED ] || fail "0600 upload: not QUARANTINED"
grep -q "0640" "$S" || fail "0600 upload: the message does not say how to upload"
[ ! -e "$DROP/$ADV1/inbox/private.csv" ] || fail "0600 upload: left in the inbox"
[ -z "$(ls -A "$SVCDIR/state/claims/$ADV1")" ] || fail "0600 upload: left in the claims folder"

grep -q "inbox=$ADV1 account=1000 .* file=conv1.csv status=COMPLETE total=2 applied=2" "$DLOG" || { cat "$DLOG"; fail "no log line for conv1.csv"; }
echo "sftp drop folders: ok"
