#!/usr/bin/env bash
# bench.smoke (ctest, label integration): starts chatd on a free port with a throwaway SQLite
# database, runs chat-bench for 5 seconds with 50 clients and 5 senders, then 2 seconds with 20
# clients each in its own room (20 rooms, 20 senders), and fails unless every
# message reached every client exactly once (chat-bench --check). Usage: smoke.sh CHATD CHAT_BENCH
set -euo pipefail
chatd=$1
bench=$2
dir=$(mktemp -d)
log=$dir/chatd.log
cleanup() {
  [[ -n ${pid:-} ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
"$chatd" --listen 127.0.0.1:0 --db "sqlite:$dir/chatd.db" --auth open --sqlite-sync normal \
  --rate-per-second 100000 --rate-burst 100000 --max-connections-per-address 10000 \
  --log-level info >"$log" 2>&1 &
pid=$!
port=
for _ in $(seq 100); do
  port=$(grep -oE 'listening on http://127\.0\.0\.1:[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
  [[ -n $port ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
[[ -n $port ]] || { echo "chatd did not start"; cat "$log"; exit 1; }
"$bench" --port "$port" --clients 50 --senders 5 --rate 500 --duration 5 --drain 5 \
  --server-pid "$pid" --check --label smoke
# Regression: as many rooms as clients (every client creates its room, so the join phase is
# empty). chat-bench used to lose one connect job to the empty phase's worker and wait forever.
timeout 60 "$bench" --port "$port" --clients 20 --senders 20 --rooms 20 --inflight 16 \
  --duration 2 --drain 5 --phase-timeout 20 --check --label smoke-rooms
# A sanitizer build (asan, tsan presets) reports in chatd's log, as it runs and at exit.
kill "$pid"
wait "$pid" || true
pid=
if grep -qE '^(==[0-9]+==ERROR: [A-Za-z]+Sanitizer|WARNING: ThreadSanitizer|SUMMARY: [A-Za-z]+Sanitizer)|: runtime error: ' "$log"; then
  echo "chatd sanitizer report:"
  cat "$log"
  exit 1
fi
