#!/usr/bin/env bash
# Builds a Debian root that the Patroni 4 suites run in, when it is not there yet: debootstrap into
# DIR (ignored .tools/), then only the suites use it, through test/e2e/in-root.sh. Needs root and
# Debian's package archive. debootstrap replaces start-stop-daemon while it installs, so no service
# of the root is started.
#   trixie  Debian 13: Patroni 4.0.7, PostgreSQL 17, etcd 3.5 (default DIR .tools/debian13)
#   forky   Debian 14 (testing): Patroni 4.1.5, PostgreSQL 18, etcd 3.5, pgBackRest 2.60 (.tools/forky)
#   scripts/debian-root.sh RELEASE [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
release=${1:?usage: scripts/debian-root.sh trixie|forky [DIR]}
# forky's patroni no longer pulls python3-etcd in (a Recommends, which debootstrap leaves out):
# without it Patroni finds no etcd support ("Available implementations: consul, kubernetes")
case $release in
  trixie) pg=17 dir=${2:-.tools/debian13} extra='' ;;
  forky) pg=18 dir=${2:-.tools/forky} extra='python3-etcd pgbackrest' ;;
  *) echo "scripts/debian-root.sh: release $release is not one the suites run on: trixie or forky" >&2; exit 2 ;;
esac
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ready() {
  [ -x "$dir/usr/bin/patroni" ] && [ -x "$dir/usr/lib/postgresql/$pg/bin/postgres" ] && [ -x "$dir/usr/bin/etcd" ] &&
    for p in $extra; do [ -f "$dir/var/lib/dpkg/info/$p.list" ] || return 1; done
}
ready && exit 0
command -v debootstrap >/dev/null 2>&1 || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}
# Debian 12's debootstrap has no script named after a release newer than trixie: testing's (sid's)
# script builds any of them
script=/usr/share/debootstrap/scripts/$release
[ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid
rm -rf "$dir" "$dir.tmp"
mkdir -p "$(dirname "$dir")"
echo "building a Debian $release root for the Patroni 4 suites in $dir"
debootstrap --variant=minbase --include="patroni,postgresql-$pg,etcd-server,etcd-client${extra:+$(printf ',%s' $extra)}" \
  "$release" "$dir.tmp" "$mirror" "$script" >"$dir.debootstrap.log" 2>&1 || {
  tail -30 "$dir.debootstrap.log" >&2
  exit 1
}
mv "$dir.tmp" "$dir"
