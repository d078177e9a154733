#!/bin/sh
# Installs the Debian packages perfsight's build, tests and demo need, when missing.
# Quiet and quick when everything is present (one dpkg-query).
set -e
pkgs="gcc make pkg-config libdw-dev libelf-dev libtraceevent-dev libxml2-dev libsqlite3-dev
libzstd-dev libyajl-dev libdebuginfod-dev zstd sqlite3 python3 chromium"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# node and npm may come from another Debian-format package (nodesource): check the commands
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "perfsight: missing Debian packages:$missing (run make deps as root)" >&2
	exit 1
fi
echo "perfsight: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends $missing >/dev/null
