#!/usr/bin/env bash
# Makes the binary package actiondrop_VERSION_ARCH.deb from a CMake tree that is already
# built, without debhelper, and prints its path:
#   bash deploy/build-deb.sh [BUILD_DIR] [OUT_DIR]     (defaults: build and .)
# The package holds the same files as the one deploy/debian/ builds with dpkg-buildpackage:
# what `cmake --install` puts under /usr (the binaries, the unit, sysusers.d and tmpfiles.d),
# the conffile /etc/actiondrop/actiondrop.yaml from etc/, the docs, and the maintainer
# scripts of deploy/debian/. Its control file comes from deploy/debian/control through the
# tools debhelper itself calls: dpkg-shlibdeps for the libraries, dpkg-gencontrol for the
# rest (version from deploy/debian/changelog, Installed-Size from the staged tree).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$HERE")
DEBIAN_DIR=$HERE/debian
BUILD=${1:-build}
OUT=${2:-.}
PACKAGE=actiondrop

die() { echo "build-deb.sh: $*" >&2; exit 1; }

[ -f "$BUILD/CMakeCache.txt" ] || die "$BUILD is not a CMake build tree (no CMakeCache.txt)"
for bin in actiondrop actiondropd; do
    [ -x "$BUILD/$bin" ] || die "$BUILD/$bin is not built: cmake --build $BUILD --target $bin"
done
for tool in dpkg-deb dpkg-shlibdeps dpkg-gencontrol; do
    command -v "$tool" > /dev/null || die "$tool is missing (packages dpkg and dpkg-dev)"
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# Whatever the caller's umask, the tree's modes are those of a package (dpkg-deb refuses a
# DEBIAN folder that others may write, and installs folders with the modes it finds).
umask 022
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/actiondrop-deb.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
ROOT=$STAGE/$PACKAGE
mkdir -m 0755 "$ROOT"

# cmake prints each file it installs: that goes to stderr, stdout is the package's path.
DESTDIR=$ROOT cmake --install "$BUILD" --prefix /usr --strip >&2
for f in usr/bin/actiondrop usr/bin/actiondropd usr/lib/systemd/system/actiondropd.service \
         usr/lib/sysusers.d/actiondrop.conf usr/lib/tmpfiles.d/actiondrop.conf; do
    [ -f "$ROOT/$f" ] || die "cmake --install did not install /$f"
done

# As deploy/debian/actiondrop.install, the rules' dh_fixperms override (the postinst gives
# the file its group), actiondrop.docs, dh_installchangelogs and dh_compress -XREADME.md.
install -D -m 0640 "$SRC/etc/actiondrop.yaml" "$ROOT/etc/actiondrop/actiondrop.yaml"
DOC=$ROOT/usr/share/doc/$PACKAGE
install -D -m 0644 "$SRC/README.md" "$DOC/README.md"
install -m 0644 "$DEBIAN_DIR/copyright" "$DOC/copyright"
gzip -9n < "$DEBIAN_DIR/changelog" > "$DOC/changelog.gz"
chmod 0644 "$DOC/changelog.gz"

mkdir -m 0755 "$ROOT/DEBIAN"
# The maintainer scripts as they are: #DEBHELPER# is where debhelper would add its snippets,
# and the rules leave it none to add.
for script in postinst prerm postrm; do
    grep -v '^#DEBHELPER#$' "$DEBIAN_DIR/$script" > "$ROOT/DEBIAN/$script"
    chmod 0755 "$ROOT/DEBIAN/$script"
done
# Every file under /etc is a conffile, as dh_installdeb makes them.
(cd "$ROOT" && find etc -type f -printf '/%p\n' | LC_ALL=C sort) > "$ROOT/DEBIAN/conffiles"
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
    xargs -0 md5sum) > "$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/conffiles" "$ROOT/DEBIAN/md5sums"

# dpkg-shlibdeps reads debian/control from the folder it runs in; the substvars it writes
# fill ${shlibs:Depends}. ${misc:Depends} is what debhelper's helpers would add: nothing.
mkdir -p "$STAGE/src/debian"
cp "$DEBIAN_DIR/control" "$STAGE/src/debian/control"
(cd "$STAGE/src" &&
    dpkg-shlibdeps -T"$STAGE/substvars" -e"$ROOT/usr/bin/actiondrop" -e"$ROOT/usr/bin/actiondropd")
dpkg-gencontrol -p"$PACKAGE" -c"$DEBIAN_DIR/control" -l"$DEBIAN_DIR/changelog" \
    -T"$STAGE/substvars" -Vmisc:Depends= -f"$STAGE/files" -P"$ROOT"

VERSION=$(sed -n 's/^Version: //p' "$ROOT/DEBIAN/control")
ARCH=$(sed -n 's/^Architecture: //p' "$ROOT/DEBIAN/control")
DEB=$OUT/${PACKAGE}_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group --build "$ROOT" "$DEB" >&2
echo "$DEB"
