#!/usr/bin/env bash
# A small model for the reproductions: dense-ae on the bundled accelerometer data's 70 % and 90 % fan speeds,
# trained in a few seconds into $1/model (with the rows it reads in $1/acc.csv).
set -euo pipefail
dir="$1"; T="${TELLTALE:-target/release/telltale}"
mkdir -p "$dir"
awk -F, 'NR == 1 || $2 == 70 || $2 == 90' data/accelerometer.csv > "$dir/acc.csv"
cat > "$dir/exp.toml" <<TOML
seed = 1
[data]
path = "acc.csv"
features = ["x", "y", "z"]
label = "wconfid != 1"
[window]
size = 60
step = 30
[split]
kind = "stratified"
train = 0.6
val = 0.2
test = 0.2
seed = 3
[model]
preset = "dense-ae"
[train]
epochs = 2
patience = 0
TOML
"$T" train --config "$dir/exp.toml" --out "$dir/model" --json > /dev/null
