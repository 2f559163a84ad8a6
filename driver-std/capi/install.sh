#!/usr/bin/env bash
# Builds libmonitor with a versioned soname and installs it like a C library:
#
#   PREFIX/include/monitor/monitor.h
#   PREFIX/LIBDIR/libmonitor.so.X.Y.Z    (soname libmonitor.so.0.Y while X is 0,
#   PREFIX/LIBDIR/libmonitor.so.SONAME    else libmonitor.so.X)
#   PREFIX/LIBDIR/libmonitor.so -> the soname link, for -lmonitor
#   PREFIX/LIBDIR/libmonitor.a
#   PREFIX/LIBDIR/pkgconfig/monitor.pc
#
# Usage: driver-std/capi/install.sh [--prefix DIR] [--libdir NAME] [--debug]
#   --prefix  where to install (default /usr/local); DESTDIR is honoured
#   --libdir  below the prefix (default lib)
#   --debug   the dev profile instead of release (faster to build; tests)
#
# Why not cargo-c, the usual tool: it links the whole `cargo` crate and
# takes longer to build than this workspace, on every fresh CI machine; the
# Debian package is too old for edition 2024. What it would do for us is
# this page: a soname, a .pc file and copying files.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."

prefix=/usr/local
libdir=lib
profile=release
while [[ $# -gt 0 ]]; do
    case $1 in
        --prefix) prefix=$2; shift 2 ;;
        --libdir) libdir=$2; shift 2 ;;
        --debug) profile=debug; shift ;;
        *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ $prefix == /* ]] || prefix=$PWD/$prefix

version=$(cargo pkgid -p mon-ipc-capi | sed 's/.*[#@]//')
IFS=. read -r major minor patch <<<"${version%%-*}"
if [[ $major == 0 ]]; then
    # 0.y: every minor release may break the ABI (Cargo's rule for 0.y).
    soname=libmonitor.so.0.$minor
else
    soname=libmonitor.so.$major
fi

# A target directory of its own: the soname goes into this link only, so
# `cargo build`'s plain libmonitor.so (linked by path in the tests and the
# README) stays as it is.
target=target/capi-install
flags=()
[[ $profile == release ]] && flags+=(--release)
CARGO_TARGET_DIR=$target cargo rustc -q "${flags[@]}" -p mon-ipc-capi \
    --crate-type cdylib --crate-type staticlib -- -C "link-arg=-Wl,-soname,$soname"
built=$target/$profile

dest=${DESTDIR-}$prefix
install -d "$dest/include/monitor" "$dest/$libdir/pkgconfig"
install -m 644 driver-std/capi/include/monitor/monitor.h "$dest/include/monitor/"
install -m 755 "$built/libmonitor.so" "$dest/$libdir/libmonitor.so.$major.$minor.$patch"
ln -sf "libmonitor.so.$major.$minor.$patch" "$dest/$libdir/$soname"
ln -sf "$soname" "$dest/$libdir/libmonitor.so"
install -m 644 "$built/libmonitor.a" "$dest/$libdir/"

# Libs.private: what the static library needs from the system (rustc
# --print native-static-libs, for this target).
cat >"$dest/$libdir/pkgconfig/monitor.pc" <<EOF
prefix=$prefix
libdir=\${prefix}/$libdir
includedir=\${prefix}/include

Name: monitor
Description: Mercury Monitor IPC: local authentication with kernel-attested credentials, fd passing, shared memory
Version: $version
Libs: -L\${libdir} -lmonitor
Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
Cflags: -I\${includedir}
EOF
echo "installed libmonitor $version ($soname) under $dest"
