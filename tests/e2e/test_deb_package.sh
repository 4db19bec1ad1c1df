#!/usr/bin/env bash
# The Debian package that deploy/build-deb.sh makes from this build tree: the binaries in
# /usr/bin, the unit, sysusers.d and tmpfiles.d files where systemd reads them, the config as
# a conffile, a Depends that names the package of every shared library the binaries link,
# maintainer scripts that parse, enable or start nothing and never reach the ledger. As
# root, it is then installed, removed and purged by dpkg in a throw-away root (the scripts
# run on the host with DPKG_ROOT set, and work only there): the user, folders and config
# group appear, the host does not change, and the ledger outlives both remove and purge.
source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
BUILD=$(dirname "$ACTIONDROP")
[ -f "$BUILD/CMakeCache.txt" ] || fail "$BUILD, the folder of \$ACTIONDROP, is not a build tree"
[ "$(dirname "$ACTIONDROPD")" = "$BUILD" ] || fail "actiondrop and actiondropd are in two trees"

DEB=$(bash "$SOURCE_DIR/deploy/build-deb.sh" "$BUILD" "$WORK/out" 2> "$WORK/build-deb.log") ||
    { cat "$WORK/build-deb.log" >&2; fail "deploy/build-deb.sh failed"; }
[ -f "$DEB" ] || fail "build-deb.sh printed '$DEB', which is not a file"
[ "$(dirname "$DEB")" = "$WORK/out" ] || fail "the package is not in OUT_DIR: $DEB"

dpkg-deb --info "$DEB" > "$WORK/info" || fail "dpkg-deb cannot read $DEB"
dpkg-deb --contents "$DEB" > "$WORK/contents" || fail "dpkg-deb cannot list $DEB"
field() { dpkg-deb --field "$DEB" "$1"; }

[ "$(field Package)" = actiondrop ] || fail "Package is '$(field Package)'"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] ||
    fail "Architecture is '$(field Architecture)'"
# The package's version is the project's: a release changes both CMakeLists.txt and
# deploy/debian/changelog.
project_version=$(sed -n 's/^project(actiondrop VERSION \([0-9.]*\).*/\1/p' \
    "$SOURCE_DIR/CMakeLists.txt")
[ -n "$project_version" ] || fail "no version in CMakeLists.txt's project()"
[ "$(field Version)" = "$project_version" ] ||
    fail "package version $(field Version), project version $project_version"

# listed PATH MODE: PATH is in the package, a file of MODE (as ls shows it) owned by root.
listed() {
    local line
    line=$(awk -v p="./${1#/}" '$6 == p' "$WORK/contents")
    [ -n "$line" ] || { cat "$WORK/contents" >&2; fail "$1 is not in the package"; }
    [ "$(awk '{print $1, $2}' <<< "$line")" = "$2 root/root" ] ||
        fail "$1: $line, expected $2 root/root"
}
listed /usr/bin/actiondrop -rwxr-xr-x
listed /usr/bin/actiondropd -rwxr-xr-x
listed /etc/actiondrop/actiondrop.yaml -rw-r-----
listed /usr/lib/sysusers.d/actiondrop.conf -rw-r--r--
listed /usr/lib/tmpfiles.d/actiondrop.conf -rw-r--r--
listed /usr/share/doc/actiondrop/copyright -rw-r--r--
# The unit's Documentation= names this file: it must not be compressed.
listed /usr/share/doc/actiondrop/README.md -rw-r--r--
# systemd reads units from /lib/systemd/system (where Debian 12's own packages put them) and
# from /usr/lib/systemd/system; systemd-analyze says so when it is installed.
unit=$(awk '$6 ~ /^\.(\/usr)?\/lib\/systemd\/system\/actiondropd\.service$/ {print substr($6, 2)}' \
    "$WORK/contents")
[ -n "$unit" ] || fail "no actiondropd.service in /lib/systemd/system or /usr/lib/systemd/system"
listed "$unit" -rw-r--r--
if command -v systemd-analyze > /dev/null &&
        systemd-analyze unit-paths > "$WORK/unit-paths" 2> /dev/null; then
    grep -qx "$(dirname "$unit")" "$WORK/unit-paths" ||
        fail "systemd does not read units from $(dirname "$unit")"
fi
# Nothing of the ledger's or the advertisers' is shipped: those folders are made at install.
! grep -E ' \./(var|srv)/' "$WORK/contents" || fail "the package ships files under /var or /srv"

# The shipped files are the source's.
dpkg-deb -x "$DEB" "$WORK/tree" || fail "dpkg-deb -x failed"
same() { cmp "$WORK/tree$1" "$SOURCE_DIR/$2" || fail "$1 in the package is not $2"; }
same /etc/actiondrop/actiondrop.yaml etc/actiondrop.yaml
same "$unit" systemd/actiondropd.service
same /usr/lib/sysusers.d/actiondrop.conf systemd/actiondrop.sysusers.conf
same /usr/lib/tmpfiles.d/actiondrop.conf systemd/actiondrop.tmpfiles.conf
"$WORK/tree/usr/bin/actiondrop" --help > /dev/null 2>&1 ||
    fail "the packaged actiondrop does not run"
grep -q '^ExecStart=/usr/bin/actiondropd ' "$WORK/tree$unit" ||
    fail "the unit does not start /usr/bin/actiondropd"

# The config is a conffile, and the only one.
dpkg-deb --info "$DEB" conffiles > "$WORK/conffiles" 2> /dev/null || fail "no conffiles"
[ "$(cat "$WORK/conffiles")" = /etc/actiondrop/actiondrop.yaml ] ||
    fail "conffiles: $(tr '\n' ' ' < "$WORK/conffiles"), expected /etc/actiondrop/actiondrop.yaml"
size=$(field Installed-Size)
files_kib=$(( $(find "$WORK/tree" -type f -printf '%s\n' | awk '{s += $1} END {print s}') / 1024 ))
[ -n "$size" ] && [ "$size" -ge "$files_kib" ] &&
    [ "$size" -le $((files_kib + files_kib / 10 + 64)) ] ||
    fail "Installed-Size '$size' KiB, the files hold $files_kib KiB"

# Depends names the package of each library the binaries link (their DT_NEEDED entries), and
# what no link shows: the time zone database and systemd-sysusers/systemd-tmpfiles.
depends=$(field Depends)
echo "Depends: $depends"
alternatives() { tr ',|' '\n\n' <<< "$depends" | sed 's/(.*//; s/[[:space:]]//g'; }
has_dep() { alternatives | grep -qx "$1"; }
for bin in actiondrop actiondropd; do
    ldd "$WORK/tree/usr/bin/$bin" > "$WORK/ldd" || fail "ldd $bin failed"
    for lib in $(objdump -p "$WORK/tree/usr/bin/$bin" | awk '$1 == "NEEDED" {print $2}'); do
        path=$(awk -v l="$lib" '$1 == l && $3 ~ /^\// {print $3}' "$WORK/ldd")
        [ -n "$path" ] || fail "$lib, which $bin links, is not found here"
        # dpkg knows a library by the path its package ships, /lib/… or /usr/lib/….
        pkg=""
        for p in "$path" "$(realpath "$path")" "/usr${path#/usr}" "${path#/usr}"; do
            pkg=$(dpkg -S "$p" 2> /dev/null | head -n 1 | cut -d: -f1) || pkg=""
            [ -z "$pkg" ] || break
        done
        [ -n "$pkg" ] || fail "no package holds $path ($lib)"
        # A library's shlibs may name a virtual package that its package provides.
        provides=$(dpkg-query -W -f='${Provides}' "$pkg" | tr ',' '\n' | sed 's/(.*//; s/ //g')
        found=""
        for name in "$pkg" $provides; do
            if has_dep "$name"; then found=$name; break; fi
        done
        [ -n "$found" ] ||
            fail "Depends names neither $pkg (the package of $lib) nor what it provides"
    done
done
for stem in libssh libyaml-cpp libspdlog libfmt libsqlite3 libpq libsystemd libssl libcurl \
            libdate-tz libstdc++; do
    alternatives | grep -q "^$(sed 's/+/\\+/g' <<< "$stem")" || fail "Depends names no $stem"
done
for pkg in tzdata systemd; do has_dep "$pkg" || fail "Depends does not name $pkg"; done

# Maintainer scripts: /bin/sh that parses, no debhelper token left, and, on lines that are
# not comments, no command that enables, starts or restarts the service, and in postrm no
# mention of the ledger's folder, no recursive removal and no removal of the user.
dpkg-deb --control "$DEB" "$WORK/control" || fail "cannot extract the control files"
starts='(systemctl|deb-systemd-invoke|deb-systemd-helper|invoke-rc\.d|update-rc\.d)[^;|&]*'
starts+='[[:space:]](start|restart|try-restart|reload-or-restart|enable|unmask)([[:space:]]|$)'
for script in postinst prerm postrm; do
    f="$WORK/control/$script"
    [ -x "$f" ] || fail "no executable $script"
    [ "$(head -n 1 "$f")" = '#!/bin/sh' ] || fail "$script does not start with #!/bin/sh"
    sh -n "$f" || fail "$script does not parse (sh -n)"
    ! grep -n '#DEBHELPER#' "$f" || fail "$script still holds #DEBHELPER#"
    grep -v '^[[:space:]]*#' "$f" > "$WORK/$script.code" || true
    ! grep -nE "$starts" "$WORK/$script.code" || fail "$script enables or starts the service"
done
! grep -nE 'var/lib|STATE|state_dir|userdel|deluser|groupdel|delgroup' "$WORK/postrm.code" ||
    fail "postrm reaches for the ledger's folder or the user"
! grep -nE 'rm +-[a-zA-Z]*[rR]|-delete|rm +--recursive' "$WORK/postrm.code" ||
    fail "postrm removes folders recursively"

# Installing into a throw-away root: only as root (the scripts give files to the service
# user) and with systemd's two tools, which the postinst runs.
skip_install() {
    echo "note: $1: the package was checked, not installed"
    echo "deb package: ok"
    exit 0
}
[ "$(id -u)" = 0 ] || skip_install "not root"
for tool in systemd-sysusers systemd-tmpfiles; do
    command -v "$tool" > /dev/null || skip_install "no $tool"
done
ROOT=$WORK/root
mkdir -p "$ROOT/etc" "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates" "$ROOT/var/log"
touch "$ROOT/var/lib/dpkg/status"
# --force-script-chrootless: the scripts run on the host with DPKG_ROOT set, and make their
# changes below it. --force-depends: the throw-away root has none of the libraries;
# --no-triggers: nor ldconfig. The log goes there too, not to the host's /var/log.
rootdpkg() {
    dpkg --root="$ROOT" --log="$ROOT/var/log/dpkg.log" --force-not-root \
        --force-script-chrootless --no-triggers --force-depends "$@" > "$WORK/dpkg.out" 2>&1 ||
        { cat "$WORK/dpkg.out" >&2; fail "dpkg $* in the throw-away root failed"; }
}
# What the scripts must not change on the host, even by mistake.
host_state() {
    sha256sum /var/lib/dpkg/status /var/lib/dpkg/statoverride /var/log/dpkg.log 2> /dev/null
    getent passwd actiondrop || true
    getent group actiondrop || true
    ls -d /etc/actiondrop /usr/lib/sysusers.d/actiondrop.conf 2> /dev/null || true
}
host_state > "$WORK/host.before"
# stat_is PATH OWNER:GROUP:MODE (numeric ids: the names are the throw-away root's)
stat_is() {
    [ "$(stat -c %u:%g:%a "$ROOT$1")" = "$2" ] ||
        fail "$1 is $(stat -c %u:%g:%a "$ROOT$1"), expected $2"
}

rootdpkg -i "$DEB"
[ "$(dpkg-query --root="$ROOT" -W -f='${Status}' actiondrop)" = "install ok installed" ] ||
    fail "actiondrop is not installed in the throw-away root"
grep -q '^actiondrop:x:[0-9]*:[0-9]*:.*:/var/lib/actiondrop:/usr/sbin/nologin$' \
        "$ROOT/etc/passwd" ||
    fail "the postinst made no actiondrop user as sysusers.d says"
uid=$(awk -F: '$1 == "actiondrop" {print $3}' "$ROOT/etc/passwd")
gid=$(awk -F: '$1 == "actiondrop" {print $3}' "$ROOT/etc/group")
[ -n "$gid" ] || fail "the postinst made no actiondrop group"
stat_is /var/lib/actiondrop "$uid:$gid:750"
stat_is /etc/actiondrop "0:$gid:750"
stat_is /etc/actiondrop/actiondrop.yaml "0:$gid:640"
stat_is /srv/actiondrop 0:0:755
[ ! -e "$ROOT/etc/systemd/system/multi-user.target.wants/actiondropd.service" ] ||
    fail "the install enabled actiondropd"

# A ledger and an archived file, as the service leaves them.
mkdir -p "$ROOT/var/lib/actiondrop/archive/acme/2026/01/02"
echo "the ledger" > "$ROOT/var/lib/actiondrop/ledger.db"
echo "a,b" > "$ROOT/var/lib/actiondrop/archive/acme/2026/01/02/x.csv"
ledger() {
    (cd "$ROOT/var/lib/actiondrop" && find . -printf '%p %U:%G %m\n' | sort && cat ledger.db)
}
ledger > "$WORK/ledger.before"
ledger_kept() {
    ledger > "$WORK/ledger.after" || fail "/var/lib/actiondrop is gone after $1"
    diff "$WORK/ledger.before" "$WORK/ledger.after" || fail "$1 changed /var/lib/actiondrop"
}

rootdpkg --remove actiondrop
[ ! -e "$ROOT/usr/bin/actiondropd" ] || fail "remove left /usr/bin/actiondropd"
[ -f "$ROOT/etc/actiondrop/actiondrop.yaml" ] || fail "remove took the config (only purge may)"
ledger_kept remove
grep -q '^actiondrop:' "$ROOT/etc/passwd" || fail "remove took the user, who owns the ledger"

rootdpkg --purge actiondrop
[ ! -e "$ROOT/etc/actiondrop/actiondrop.yaml" ] || fail "purge left the config"
[ ! -e "$ROOT/etc/actiondrop" ] || fail "purge left an empty /etc/actiondrop"
! dpkg-statoverride --root="$ROOT" --list /etc/actiondrop/actiondrop.yaml ||
    fail "purge left the stat override"
ledger_kept purge
[ -d "$ROOT/srv/actiondrop" ] || fail "purge took /srv/actiondrop"

host_state > "$WORK/host.after"
diff "$WORK/host.before" "$WORK/host.after" ||
    fail "installing into the throw-away root changed the host"
echo "deb package: ok"
