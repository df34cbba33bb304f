#!/usr/bin/env bash
# The release `telltale` binary for a Raspberry Pi, built here and checked under qemu-user.
#
#   scripts/cross.sh aarch64-unknown-linux-gnu          # Pi 3/4/5, 64-bit OS
#   scripts/cross.sh armv7-unknown-linux-gnueabihf      # Pi OS 32-bit
#
# Builds target/TARGET/release/telltale with Debian's cross linkers (installed when missing, with the Rust
# target), prints its size, then trains a CNN-LSTM on the bundled accelerometer data with this machine's binary,
# scores the data with that model directory twice, here and with the cross-built binary under qemu, and
# compares every window's score: the last line is `TARGET bytes N windows W max_abs_diff D` and the script fails
# when D exceeds 1e-5. Minutes on 2 cores (the whole binary, optimised).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target=${1:?usage: scripts/cross.sh aarch64-unknown-linux-gnu|armv7-unknown-linux-gnueabihf}
case "$target" in
    aarch64-unknown-linux-gnu) qemu=(qemu-aarch64 -L /usr/aarch64-linux-gnu) ;;
    armv7-unknown-linux-gnueabihf) qemu=(qemu-arm -L /usr/arm-linux-gnueabihf) ;;
    *) echo "scripts/cross.sh: $target is not a Raspberry Pi target of telltale's" >&2; exit 2 ;;
esac
. scripts/cross-env.sh

cargo build --release --locked -p telltale-cli --target "$target"
bin="target/$target/release/telltale"
bytes=$(stat -c %s "$bin")
echo "$bin: $bytes bytes"

cargo build --locked -p telltale-cli
host=target/debug/telltale
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -e "s|\"../data/accelerometer.csv\"|\"$PWD/data/accelerometer.csv\"|" -e 's/^epochs = 20/epochs = 3/' \
    examples/accelerometer.toml >"$work/train.toml"
"$host" train --config "$work/train.toml" --out "$work/model" >/dev/null
"$host" detect --model "$work/model" --data data/accelerometer.csv --out "$work/host.csv" >/dev/null
"${qemu[@]}" "$bin" detect --model "$work/model" --data data/accelerometer.csv --out "$work/cross.csv" >/dev/null
python3 - "$work/host.csv" "$work/cross.csv" "$target" "$bytes" <<'PY'
import csv, sys
host, cross, target, size = sys.argv[1:5]
a, b = list(csv.DictReader(open(host))), list(csv.DictReader(open(cross)))
if len(a) != len(b) or not a:
    sys.exit(f"{target}: {len(a)} windows here, {len(b)} under qemu")
worst = max(abs(float(x["score"]) - float(y["score"])) for x, y in zip(a, b))
print(f"{target} bytes {size} windows {len(a)} max_abs_diff {worst:.3g}")
sys.exit(0 if worst <= 1e-5 else f"{target}: scores differ by {worst:.3g} (over 1e-5)")
PY
