#!/usr/bin/env bash
# Installs what the tests need when it is missing (Debian packages for Patroni, etcd and
# PostgreSQL 15, openssl for the tests' certificates; npm packages), then runs every test: unit and end-to-end. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v patroni >/dev/null 2>&1 || need+=(patroni)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v terraform >/dev/null 2>&1 || { echo "terraform >= 1.10 (ephemeral variables) is required on PATH" >&2; exit 1; }
export CHECKPOINT_DISABLE=1 DISABLE_VERSION_CHECK=true CDKTF_DISABLE_PLUGIN_CACHE_ENV=true TF_IN_AUTOMATION=1
npm ci --no-audit --no-fund
npm run build
npx jest --runInBand --ci
