#!/usr/bin/env bash
# Builds the Debian 13 root that the Patroni 4 suite runs in (Patroni 4.0.7, PostgreSQL 17, etcd
# 3.5 from Debian 13's packages), when it is not there yet: debootstrap into DIR (default
# .tools/debian13, ignored), then only the suite uses it, through test/e2e/in-root.sh. Needs root
# and Debian's package archive. debootstrap replaces start-stop-daemon while it installs, so no
# service of the root is started.
#   scripts/debian13-root.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-.tools/debian13}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ -x "$dir/usr/bin/patroni" ] && [ -x "$dir/usr/lib/postgresql/17/bin/postgres" ] && [ -x "$dir/usr/bin/etcd" ]; then
  exit 0
fi
command -v debootstrap >/dev/null 2>&1 || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}
rm -rf "$dir" "$dir.tmp"
mkdir -p "$(dirname "$dir")"
echo "building a Debian 13 root for the Patroni 4 suite in $dir"
debootstrap --variant=minbase --include=patroni,postgresql-17,etcd-server,etcd-client trixie "$dir.tmp" "$mirror" >"$(dirname "$dir")/debootstrap.log" 2>&1 || {
  tail -30 "$(dirname "$dir")/debootstrap.log" >&2
  exit 1
}
mv "$dir.tmp" "$dir"
