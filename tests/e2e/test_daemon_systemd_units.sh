#!/usr/bin/env bash
# The systemd files are valid: `systemd-analyze verify` on a copy of the unit whose
# commands point at the built binary (verify refuses a binary that is not installed),
# the sandbox's exposure stays at 1.2 or below (systemd-analyze security), the unit bounds
# memory and threads and lets the service write no drop folder by itself (drop-ins of
# deploy/add-advertiser.sh name each inbox/ and outbox/), and sysusers/tmpfiles create the
# user and folders in a scratch root.
source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
UNITS="$SOURCE_DIR/systemd"
if ! command -v systemd-analyze > /dev/null; then
    echo "SKIP: systemd-analyze is not installed, the unit cannot be verified"
    exit 0
fi
sed "s|/usr/bin/actiondropd|$ACTIONDROPD|g" "$UNITS/actiondropd.service" > "$WORK/actiondropd.service"
grep -q "^ExecStart=$ACTIONDROPD " "$WORK/actiondropd.service" || fail "the copy does not start the built binary"
systemd-analyze verify "$WORK/actiondropd.service" || fail "systemd-analyze verify refused the unit"
for key in Type=notify 'ExecReload=/bin/kill -HUP $MAINPID' WatchdogSec= Restart=on-failure User=actiondrop \
           StateDirectory=actiondrop ProtectSystem=strict PrivateTmp=yes PrivateMounts=yes \
           NoNewPrivileges=yes ProtectHome=yes 'CapabilityBoundingSet=$' SystemCallFilter=@system-service \
           MemoryHigh=384M MemoryMax=512M TasksMax=192; do
    grep -q "^$key" "$UNITS/actiondropd.service" || fail "the unit lacks $key"
done
# Nothing below /srv is writable but what add-advertiser.sh's drop-ins name.
! grep -n '^ReadWritePaths=' "$UNITS/actiondropd.service" || fail "the unit itself makes folders writable"
# systemd 252 rates the sandbox offline; it was 1.4 before the unit had PrivateMounts=yes.
if systemd-analyze security --offline=true "$WORK/actiondropd.service" > "$WORK/security.txt" 2>&1; then
    level=$(sed -n 's/.*Overall exposure level for actiondropd.service: \([0-9.]*\).*/\1/p' "$WORK/security.txt")
    [ -n "$level" ] || { cat "$WORK/security.txt"; fail "no exposure level"; }
    python3 -c "import sys; sys.exit(0 if float('$level') <= 1.2 else 1)" || { cat "$WORK/security.txt"; fail "exposure level $level above 1.2"; }
    echo "exposure level $level"
else
    echo "note: this systemd-analyze cannot rate a unit offline; exposure not checked"
fi
if [ "$(id -u)" = 0 ] && command -v systemd-sysusers > /dev/null && command -v systemd-tmpfiles > /dev/null; then
    ROOT="$WORK/root"; mkdir -p "$ROOT/etc"
    systemd-sysusers --root="$ROOT" "$UNITS/actiondrop.sysusers.conf" || fail "systemd-sysusers refused the file"
    grep -q '^actiondrop:x:[0-9]*:[0-9]*:.*:/var/lib/actiondrop:/usr/sbin/nologin$' "$ROOT/etc/passwd" || fail "no actiondrop user"
    systemd-tmpfiles --create --root="$ROOT" "$UNITS/actiondrop.tmpfiles.conf" || fail "systemd-tmpfiles refused the file"
    for d in etc/actiondrop var/lib/actiondrop/archive var/lib/actiondrop/failed srv/actiondrop; do
        [ -d "$ROOT/$d" ] || fail "tmpfiles did not create /$d"
    done
    # sshd refuses a chroot below a group-writable folder: the top stays root 0755.
    [ "$(stat -c %a:%U "$ROOT/srv/actiondrop")" = 755:root ] || fail "/srv/actiondrop is not 0755 root"
else
    echo "note: not root (or no systemd-sysusers/systemd-tmpfiles): sysusers and tmpfiles not tried"
fi
echo "systemd units: ok"
