#!/bin/sh
# npm run test:mutation: Stryker over the planners, the rules and the programs (stryker.config.mjs),
# then the run's duration beside its report in the ignored bench/out/mutation/.
set -eu
cd "$(dirname "$0")/.."
start=$(date +%s)
npx stryker run "$@"
mkdir -p bench/out/mutation
echo $(( ($(date +%s) - start + 30) / 60 )) > bench/out/mutation/minutes.txt
echo "mutation report: bench/out/mutation/index.html; npm run bench:report writes TESTING.md"
