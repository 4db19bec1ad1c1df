#!/usr/bin/env bash
# Creates (or repairs) an advertiser's drop folder account for SFTP and FTP uploads:
# a system user with no shell, its chrooted folder tree with the permissions described in
# deploy/README.md, optionally an SSH public key, and the drop-in of actiondropd.service
# that lets the service write that inbox/ and outbox/ (and nothing else of the tree).
# Prints the inbox entry for /etc/actiondrop/actiondrop.yaml. Idempotent: running it again
# fixes owners and modes and adds a key only once. Run as root.
set -euo pipefail

usage() {
    cat >&2 <<'TXT'
usage: add-advertiser.sh USER ACCOUNT [--root DIR] [--key PUBKEY] [--type TYPE]
                         [--service NAME] [--upload-group GROUP] [--unit-dropins DIR]
  USER       the login of the advertiser's upload account (also the inbox name)
  ACCOUNT    the advertiser's account id in the catalog
  --root DIR          the drop folder tree (default /srv/actiondrop)
  --key PUBKEY        an OpenSSH public key, or a file holding one; added once
  --type TYPE         modifications (default) | conversions | funds_transfers
  --service NAME      the user and group the service runs as (default actiondrop)
  --upload-group G    the group sshd matches for chrooted SFTP (default actiondrop-upload)
  --unit-dropins DIR  where the unit's drop-in goes
                      (default /etc/systemd/system/actiondropd.service.d)
TXT
    exit 64
}

die() { echo "add-advertiser: $*" >&2; exit 1; }

[ $# -ge 2 ] || usage
USER_NAME=$1 ACCOUNT=$2
shift 2
ROOT=/srv/actiondrop KEY="" TYPE=modifications SERVICE=actiondrop UPLOAD_GROUP=actiondrop-upload
DROPINS=/etc/systemd/system/actiondropd.service.d
while [ $# -gt 0 ]; do
    case $1 in
        --root) ROOT=${2:?--root needs a folder}; shift 2 ;;
        --key) KEY=${2:?--key needs a key or a file}; shift 2 ;;
        --type) TYPE=${2:?--type needs a type}; shift 2 ;;
        --service) SERVICE=${2:?--service needs a name}; shift 2 ;;
        --upload-group) UPLOAD_GROUP=${2:?--upload-group needs a name}; shift 2 ;;
        --unit-dropins) DROPINS=${2:?--unit-dropins needs a folder}; shift 2 ;;
        *) usage ;;
    esac
done

[ "$(id -u)" -eq 0 ] || die "run as root (it creates users and sets owners)"
# A login name that is also a valid inbox name and a safe path component.
[[ $USER_NAME =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || die "user '$USER_NAME': 1-32 of a-z, 0-9, '_', '-', not starting with a digit or '-'"
[[ $ACCOUNT =~ ^[A-Za-z0-9._-]+$ ]] || die "account '$ACCOUNT': letters, digits, '.', '_' or '-'"
case $TYPE in modifications | conversions | funds_transfers) ;; *) die "type '$TYPE' is not modifications, conversions or funds_transfers" ;; esac
case $ROOT in /*) ;; *) die "--root must be an absolute path" ;; esac
ROOT=${ROOT%/}
# systemd splits ReadWritePaths= at white space and would read % and \ as specifiers.
[[ $ROOT =~ ^[A-Za-z0-9/._-]+$ ]] || die "--root '$ROOT': letters, digits, '/', '.', '_' or '-'"
[ "$USER_NAME" != "$SERVICE" ] || die "the advertiser cannot be the service account"

NOLOGIN=/usr/sbin/nologin
[ -x "$NOLOGIN" ] || NOLOGIN=/sbin/nologin

# The public key, from the argument or from the file it names; checked before any change.
KEY_LINE=""
if [ -n "$KEY" ]; then
    if [ -f "$KEY" ]; then KEY_LINE=$(grep -v '^[[:space:]]*\(#\|$\)' "$KEY" | head -n 1); else KEY_LINE=$KEY; fi
    ssh-keygen -l -f /dev/stdin <<< "$KEY_LINE" > /dev/null 2>&1 || die "--key: not an OpenSSH public key"
fi

# The service's group and user, as systemd/actiondrop.sysusers.conf makes them.
getent group "$SERVICE" > /dev/null || groupadd --system "$SERVICE"
if ! getent passwd "$SERVICE" > /dev/null; then
    useradd --system --gid "$SERVICE" --home-dir /var/lib/actiondrop --no-create-home \
        --shell "$NOLOGIN" --comment "actiondrop batch file service" "$SERVICE"
fi
getent group "$UPLOAD_GROUP" > /dev/null || groupadd --system "$UPLOAD_GROUP"

# The advertiser: a system user whose private group owns nothing but its outbox reading
# rights; it is not in the service's group, so it reaches no other advertiser's files.
HOME_DIR=$ROOT/$USER_NAME
if getent passwd "$USER_NAME" > /dev/null; then
    shell=$(getent passwd "$USER_NAME" | cut -d: -f7)
    case $shell in
        "$NOLOGIN" | /usr/sbin/nologin | /sbin/nologin | /bin/false | /usr/bin/false) ;;
        *) die "user '$USER_NAME' exists with the login shell $shell: not turning a person's account into a drop folder" ;;
    esac
    # Changed only when they differ, so that a second run touches nothing.
    [ "$(getent passwd "$USER_NAME" | cut -d: -f6)" = "$HOME_DIR" ] || usermod --home "$HOME_DIR" "$USER_NAME"
    [ "$shell" = "$NOLOGIN" ] || usermod --shell "$NOLOGIN" "$USER_NAME"
    id -nG "$USER_NAME" | tr ' ' '\n' | grep -qxF "$UPLOAD_GROUP" || usermod --append --groups "$UPLOAD_GROUP" "$USER_NAME"
else
    # The private group may be left over from an earlier, interrupted run.
    if getent group "$USER_NAME" > /dev/null; then own_group=(--gid "$USER_NAME"); else own_group=(--user-group); fi
    useradd --system "${own_group[@]}" --groups "$UPLOAD_GROUP" --home-dir "$HOME_DIR" \
        --no-create-home --shell "$NOLOGIN" --comment "actiondrop drop folder, account $ACCOUNT" "$USER_NAME"
    # "!" (locked) makes sshd refuse even keys when PAM is off; "*" means no password.
    usermod --password '*' "$USER_NAME"
fi
USER_GROUP=$(id -gn "$USER_NAME")

# sshd chroots only below directories owned by root and writable by no one else.
install -d -o root -g root -m 0755 "$ROOT"
p=$(dirname "$ROOT")
while :; do
    read -r owner mode <<< "$(stat -c '%u %a' "$p")"
    if [ "$owner" != 0 ] || [ $((8#$mode & 8#022)) -ne 0 ]; then
        echo "add-advertiser: warning: $p is not owned by root or is writable by others; sshd will refuse the chroot" >&2
    fi
    # vsftpd enters the chroot as the user, so every folder above it must be searchable.
    [ $((8#$mode & 8#001)) -ne 0 ] || echo "add-advertiser: warning: $p is not searchable by others; FTP logins will fail" >&2
    [ "$p" = / ] && break
    p=$(dirname "$p")
done

# The chroot itself: root's, so the advertiser cannot rename inbox/ or outbox/ away.
install -d -o root -g root -m 0755 "$HOME_DIR"
# inbox/: the advertiser writes; the service's group may read and rename files out of it
# (a rename needs write on the folder); setgid keeps every upload in the service's group.
install -d -o "$USER_NAME" -g "$SERVICE" -m 2770 "$HOME_DIR/inbox"
chown "$USER_NAME:$SERVICE" "$HOME_DIR/inbox" && chmod 2770 "$HOME_DIR/inbox"
# outbox/: the service writes; the advertiser's group may only list and read.
install -d -o "$SERVICE" -g "$USER_GROUP" -m 2750 "$HOME_DIR/outbox"
chown "$SERVICE:$USER_GROUP" "$HOME_DIR/outbox" && chmod 2750 "$HOME_DIR/outbox"

# Keys live outside every chroot, owned by root, so an advertiser cannot change them.
KEYS=$ROOT/.authorized_keys
install -d -o root -g root -m 0755 "$KEYS"
[ -e "$KEYS/$USER_NAME" ] || install -o root -g root -m 0644 /dev/null "$KEYS/$USER_NAME"
chown root:root "$KEYS/$USER_NAME" && chmod 0644 "$KEYS/$USER_NAME"
if [ -n "$KEY_LINE" ] && ! grep -qxF -- "$KEY_LINE" "$KEYS/$USER_NAME"; then
    printf '%s\n' "$KEY_LINE" >> "$KEYS/$USER_NAME"
fi

# The service may write these two folders and nothing else below $ROOT: its unit makes the
# whole file system read-only (ProtectSystem=strict) but for what drop-ins like this name.
# "-": a folder removed later stops only its own inbox, not the service.
DROPIN=$DROPINS/drop-$USER_NAME.conf
install -d -m 0755 "$DROPINS"
cat > "$DROPIN.new" <<CONF
# Made by deploy/add-advertiser.sh: actiondropd claims the uploads of $USER_NAME (account
# $ACCOUNT) out of its inbox/ and writes the answers into its outbox/ (deploy/README.md).
[Service]
ReadWritePaths=-$HOME_DIR/inbox -$HOME_DIR/outbox
CONF
chmod 0644 "$DROPIN.new"
if cmp -s "$DROPIN.new" "$DROPIN"; then rm -f "$DROPIN.new"; else mv -f "$DROPIN.new" "$DROPIN"; fi

cat <<TXT
# Drop folder for account $ACCOUNT ready: $HOME_DIR (user $USER_NAME); unit drop-in $DROPIN.
# Add this under inboxes: in /etc/actiondrop/actiondrop.yaml, then (the drop-in takes
# effect at a start, not at a reload): systemctl daemon-reload && systemctl restart actiondropd
# (add send_invoices: true to write the account's partner invoices into its outbox/ too)
  - {name: $USER_NAME, account: "$ACCOUNT", type: $TYPE, kind: local, path: $HOME_DIR/inbox, outbox: $HOME_DIR/outbox, pattern: "*.csv", settle: 2s}
TXT
