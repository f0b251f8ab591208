#!/usr/bin/env bash
# Blue-green figures: runs the upgrade-and-rollback-under-load test ROUNDS
# times (default 3) and prints each round's FIGURES line, then the medians
# against the targets: 0 failed requests over >= 20,000, switch (green
# healthy -> first v2 response) <= 1 s, rollback (command start -> first v1
# response, old containers kept) <= 2 s.
#
#   scripts/bench-bluegreen.sh          # 3 rounds
#   ROUNDS=5 scripts/bench-bluegreen.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}"

scripts/ensure-docker.sh
scripts/build-test-images.sh >/dev/null

figures="$(mktemp /tmp/bench-bluegreen.XXXXXX)"
trap 'rm -f "$figures"' EXIT
for round in $(seq 1 "$ROUNDS"); do
    cargo test --release --locked --quiet --test bluegreen \
        upgrade_and_rollback_under_load_fail_no_request -- --nocapture 2>&1 \
        | grep '^FIGURES' | tee -a "$figures" | sed "s/^/round $round: /"
done

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { grep -o "$1=[0-9.]*" "$figures" | cut -d= -f2; }

echo
printf '%-36s %10s %10s\n' FIGURE MEDIAN TARGET
printf '%-36s %10s %10s\n' "requests per round" "$(field requests | median)" ">= 20000"
printf '%-36s %10s %10s\n' "failed (non-2xx + connection)" \
    "$(paste -d" " <(field non2xx) <(field connection_errors) | awk "{ print \$1 + \$2 }" | median)" 0
printf '%-36s %10s %10s\n' "switch: healthy -> first v2 (ms)" "$(field 'switch(healthy->first v2)' | median)" "<= 1000"
printf '%-36s %10s %10s\n' "rollback: start -> first v1 (ms)" "$(field 'rollback(start->first v1)' | median)" "<= 2000"
printf '%-36s %10s\n' "upgrade command (s, drain 3 s)" "$(field upgrade | median)"
printf '%-36s %10s\n' "rollback command (s, drain 3 s)" "$(field rollback_cmd | median)"
