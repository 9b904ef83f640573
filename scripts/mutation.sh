#!/bin/sh
# npm run test:mutation [area...]: Stryker over the programs Terraform runs, the planners and the
# rules (stryker.config.mjs), one run per area, each run's duration beside its report in the
# ignored bench/out/mutation/. `npm run bench:report` then writes TESTING.md.
set -eu
cd "$(dirname "$0")/.."
mkdir -p bench/out/mutation
areas=${*:-programs planners rules}
for area in $areas; do
  start=$(date +%s)
  MUTATION_AREA=$area npx stryker run
  echo $(( ($(date +%s) - start + 30) / 60 )) > "bench/out/mutation/$area.minutes"
done
echo "reports: bench/out/mutation/<area>.html; npm run bench:report writes TESTING.md"
