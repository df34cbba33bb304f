#!/usr/bin/env bash
# N new device names (default 100,000), one reading each, through the embedded broker: RSS per device and
# /health throughout. Run from the repository root after `cargo build --release`.
set -euo pipefail
T="${TELLTALE:-$PWD/target/release/telltale}"; N="${N:-100000}"; dir=$(mktemp -d)
scripts/repro/model.sh "$dir"
"$T" serve --model "$dir/model" --listen 127.0.0.1:11884 --http 127.0.0.1:18081 --db "sqlite://$dir/ids.db" --quiet 2>"$dir/serve.err" &
PID=$!
trap 'kill -9 $PID 2>/dev/null || true' EXIT
sleep 2
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
before=$(rss)
( while kill -0 $PID 2>/dev/null; do curl -s -o /dev/null -m 2 -w '%{http_code} %{time_total}\n' 127.0.0.1:18081/health >> "$dir/health.log" || echo "fail" >> "$dir/health.log"; sleep 0.5; done ) &
"$T" simulate --data "$dir/acc.csv" --features x,y,z --rate 0 --devices "$N" --rows 0..1 --broker mqtt://127.0.0.1:11884 --json > /dev/null
sleep 5
after=$(rss)
curl -s 127.0.0.1:18081/metrics | grep -E '^telltale_(devices|readings_total)'
echo "RSS ${before} kB before, ${after} kB after: $(( (after - before) * 1024 / N )) bytes per device"
echo "/health: $(grep -c '^200' "$dir/health.log") answered 200, $(grep -vc '^200' "$dir/health.log") did not; slowest: $(sort -k2 -n "$dir/health.log" | tail -1)"
