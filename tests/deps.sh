#!/bin/sh
# Installs the Debian packages one make target needs, when missing:
#     tests/deps.sh [--list] build|demo|check|bench|fuzz
# --list prints the target's packages and installs nothing.
# Each group holds the one before it. Quiet and quick when everything is present (one
# dpkg-query per package). Only root installs; anyone else is told what is missing and by what.
# `make demo` asks for "demo", which needs no browser, so a user who has the build packages can
# run it without root.
set -e
build="gcc make pkg-config libdw-dev libelf-dev libtraceevent-dev libxml2-dev libsqlite3-dev
libzstd-dev libyajl-dev libprotobuf-c-dev protobuf-c-compiler zlib1g-dev"
demo="$build python3"
# the tests: perf's own view (linux-perf), the command-line peers of the store (sqlite3, zstd),
# the checkers (python3), the browser tests (chromium, node), libdebuginfod's loading checks,
# check-format (clang-format), the call-graph readers' referees (valgrind: callgrind and
# callgrind_annotate; python3-pprofile: pprofile's callgrind output), the pprof reader (go tool
# pprof from golang-go), the JUnit schema check (xmllint from libxml2-utils)
check="$demo zstd sqlite3 python3 chromium linux-perf libdebuginfod-dev clang-format valgrind
python3-pprofile golang-go libxml2-utils"
bench="$demo python3 linux-perf"
# make fuzz: clang and its libFuzzer and sanitizer runtimes (make check replays the harnesses
# with a driver of its own, built by gcc: it needs nothing more)
fuzz="$build clang libclang-rt-dev"
list=0
if [ "$1" = --list ]; then
	list=1
	shift
fi
case "${1:-check}" in
build) pkgs=$build ;;
demo) pkgs=$demo ;;
check) pkgs=$check ;;
bench) pkgs=$bench ;;
fuzz) pkgs=$fuzz ;;
*)
	echo "usage: tests/deps.sh build|demo|check|bench|fuzz" >&2
	exit 2
	;;
esac
if [ $list = 1 ]; then
	echo $pkgs
	exit 0
fi
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# node and npm may come from another Debian-format package (nodesource): check the commands
if [ "${1:-check}" = check ] && ! command -v npm >/dev/null 2>&1; then
	missing="$missing nodejs npm"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "perfsight: missing Debian packages for make ${1:-check}:$missing (run make deps-${1:-check} as root)" >&2
	exit 1
fi
echo "perfsight: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
