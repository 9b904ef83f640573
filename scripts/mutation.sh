#!/bin/sh
# npm run test:mutation [area...]: Stryker over the programs Terraform runs, the planners and the
# rules (stryker.config.mjs), one run per area, each with its report and its duration in the
# ignored bench/out/mutation/. The programs' tests mostly wait (fake servers, polling loops), so
# that area runs beside the others, which are CPU-bound and run one after the other.
# `npm run bench:report` then writes TESTING.md.
set -eu
cd "$(dirname "$0")/.."
mkdir -p bench/out/mutation
areas=${*:-programs planners rules}

run() {
  start=$(date +%s)
  MUTATION_AREA=$1 npx stryker run > "bench/out/mutation/$1.log" 2>&1 || { echo "mutation testing of $1 failed: bench/out/mutation/$1.log" >&2; return 1; }
  echo $(( ($(date +%s) - start + 30) / 60 )) > "bench/out/mutation/$1.minutes"
  grep -A3 '^File ' "bench/out/mutation/$1.log" | sed -n 3p | sed "s/^All files/$1/"
}

pids=''
rest=''
for area in $areas; do
  if [ "$area" = programs ]; then run programs & pids="$pids $!"; else rest="$rest $area"; fi
done
status=0
for area in $rest; do run "$area" || status=1; done
for pid in $pids; do wait "$pid" || status=1; done
echo "reports: bench/out/mutation/<area>.html; npm run bench:report writes TESTING.md"
exit $status
