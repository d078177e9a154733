#!/bin/sh
# make check-fresh: the README's two commands on a fresh Debian machine, for real (issue 16).
# A minimal Debian root (debootstrap --variant=minbase, the release of this machine) gets only
# `make` and a clone of this repository's HEAD; then, inside it, as root:
#     make -j2 demo     (must install its packages and pass the first time)
# then, as a user who is not root, a second clone runs `make demo` with the packages root
# installed (the demo must not need the browser, which is not there), and with FRESH_CHECK=1,
# as root again, `make -j2 check` (installs the test packages: chromium, perf, ...).
# The base root is made once into $PFS_FRESH_DIR (default /var/tmp/perfsight-fresh) and copied
# for each run. Needs root and Debian's mirror; without them it says SKIP and why.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${PFS_FRESH_DIR:-/var/tmp/perfsight-fresh}
release=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
mirror=${PFS_FRESH_MIRROR:-http://deb.debian.org/debian}
say() { echo "check-fresh: $*"; }
if [ "$(id -u)" != 0 ]; then
	say "SKIP: needs root (debootstrap and chroot)"
	exit 0
fi
if [ -z "$release" ]; then
	say "SKIP: not a Debian machine (no VERSION_CODENAME in /etc/os-release)"
	exit 0
fi
if ! command -v debootstrap >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1 || {
		say "SKIP: debootstrap cannot be installed"
		exit 0
	}
fi
mkdir -p "$dir"
base=$dir/base-$release
if [ ! -x "$base/usr/bin/apt-get" ]; then
	say "making a minimal $release root in $base (once)"
	rm -rf "$base"
	debootstrap --variant=minbase "$release" "$base" "$mirror" > "$dir/debootstrap.log" 2>&1 || {
		say "FAIL: debootstrap failed, see $dir/debootstrap.log"
		exit 1
	}
fi
root=$dir/run
umount_all() {
	for m in dev/pts dev/shm dev proc sys; do
		mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
	done
}
umount_all
rm -rf "$root"
cp -a "$base" "$root"
trap 'umount_all' EXIT
for m in proc sys dev dev/pts; do mount --bind "/$m" "$root/$m"; done
cp /etc/resolv.conf "$root/etc/resolv.conf"
git clone -q "$here" "$root/src" || {
	say "FAIL: cannot clone $here"
	exit 1
}
log=$dir/fresh.log
: > "$log"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	LANG=C.UTF-8 sh -c "$1" >> "$log" 2>&1; }
# what the fresh machine has before the README's commands: make, nothing of the build
in_root "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make" || {
	say "FAIL: apt-get in the fresh root, see $log"
	exit 1
}
if in_root "dpkg-query -W libdw-dev libxml2-dev 2>/dev/null | grep -q ."; then
	say "FAIL: the fresh root already has build packages"
	exit 1
fi
rc=0
start=$(date +%s)
if in_root "cd /src && make -j2 demo" && [ -s "$root/src/demo/report.html" ]; then
	say "ok: make -j2 demo, first time, as root ($(($(date +%s) - start)) s)"
else
	say "FAIL: make -j2 demo in the fresh root, see $log"
	rc=1
fi
# a user without root, the build packages present (root installed them), no browser
in_root "useradd -m dev && su dev -c 'git clone -q /src /home/dev/src 2>/dev/null || cp -r /src /home/dev/src'" || true
in_root "chown -R dev /home/dev/src && rm -rf /home/dev/src/build /home/dev/src/demo"
if in_root "! dpkg-query -W chromium 2>/dev/null | grep -q . && su dev -c 'cd /home/dev/src && make demo'" &&
	[ -s "$root/home/dev/src/demo/report.html" ]; then
	say "ok: make demo as a user who is not root, without a browser"
else
	say "FAIL: make demo as a user who is not root, see $log"
	rc=1
fi
if [ "${FRESH_CHECK:-0}" = 1 ]; then
	start=$(date +%s)
	if in_root "cd /src && make -j2 check"; then
		say "ok: make -j2 check, first time ($(($(date +%s) - start)) s): $(tail -1 "$log")"
	else
		say "FAIL: make -j2 check in the fresh root: $(tail -1 "$log"), see $log"
		rc=1
	fi
fi
exit $rc
