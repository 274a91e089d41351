#!/usr/bin/env bash
# The figures of docs/benchmarks.md "Distributed (RabbitMQ)": for each topology and user count,
# a fresh `scripts/run-stack cluster` (release build; RabbitMQ starts empty, so no queue of an
# earlier run stays bound to `chat`), then cluster_fanout.mjs at a fixed rate and at max rate.
# Usage: backend/tests/load/cluster_matrix.sh [OUT.jsonl]   (env: USERS="10 100 1000",
#   TOPOLOGIES="per-user per-node", RATE=20, SECONDS_EACH=8, STACK_PORT_BASE as run-stack)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
OUT=${1:-$ROOT/build/cluster_fanout.jsonl}
: >"$OUT"
export STACK_AUTH=open
export STACK_CHATD_ARGS='--rate-per-second 1000000 --rate-burst 1000000 --max-connections-per-address 20000 --log-level warn'
node1=http://127.0.0.1:8081 node2=http://127.0.0.1:8082
if [[ -n ${STACK_PORT_BASE:-} ]]; then
  node1=http://127.0.0.1:$((STACK_PORT_BASE + 81)) node2=http://127.0.0.1:$((STACK_PORT_BASE + 82))
fi
for topology in ${TOPOLOGIES:-per-user per-node}; do
  for users in ${USERS:-10 100 1000}; do
    STACK_TOPOLOGY=$topology "$ROOT/scripts/run-stack" cluster >/dev/null
    for rate in "${RATE:-20}" 0; do
      load=$(cut -d' ' -f1 /proc/loadavg)
      line=$(node "$ROOT/backend/tests/load/cluster_fanout.mjs" --nodes "$node1,$node2" \
        --users "$users" --rate "$rate" --seconds "${SECONDS_EACH:-8}" || true)
      echo "{\"topology\":\"$topology\",\"load_before\":$load,\"result\":${line:-null}}" | tee -a "$OUT"
    done
    "$ROOT/scripts/run-stack" stop >/dev/null
  done
done
