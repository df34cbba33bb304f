#!/usr/bin/env bash
# A full disk under SQLite (root: mounts a 1 MiB tmpfs): /health while full, recovery when space returns,
# stored count against the rows in the file, time to stop. Run from the repository root after
# `cargo build --release`.
set -euo pipefail
T="${TELLTALE:-$PWD/target/release/telltale}"; dir=$(mktemp -d); fs="$dir/fs"
scripts/repro/model.sh "$dir"
mkdir -p "$fs" && mount -t tmpfs -o size=1m tmpfs "$fs"
trap 'kill -9 $PID 2>/dev/null || true; umount "$fs" 2>/dev/null || true' EXIT
"$T" serve --model "$dir/model" --listen 127.0.0.1:11883 --http 127.0.0.1:18080 --db "sqlite://$fs/t.db" --quiet 2>"$dir/serve.err" &
PID=$!
sleep 2
sim() { "$T" simulate --data "$dir/acc.csv" --features x,y,z --rate 0 --devices 3 --rows "$1" --broker mqtt://127.0.0.1:11883 --json > /dev/null; }
show() { echo "--- $1"; curl -s -w ' HTTP %{http_code}\n' 127.0.0.1:18080/health; curl -s 127.0.0.1:18080/metrics | grep -E '^telltale_(readings|stored_readings|store_failures)_total'; }
sim 0..16000; sleep 3; show "disk full"
mount -o remount,size=64m "$fs"; sleep 15; show "space back"
sim 16000..18000; sleep 5; show "after more readings"
echo "rows in the file: $(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from readings').fetchone()[0])" "$fs/t.db")"
kill -TERM $PID; start=$(date +%s.%N)
while kill -0 $PID 2>/dev/null; do sleep 0.2; done
echo "stopped $(python3 -c "import time,sys; print(round(time.time()-float(sys.argv[1]),1))" "$start") s after SIGTERM"
