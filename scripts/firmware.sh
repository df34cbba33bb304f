#!/usr/bin/env bash
# telltale's runtime on a microcontroller: firmware/ built for thumbv7em-none-eabihf (Cortex-M4F/M7) and run on
# QEMU's mps2-an386 board (Cortex-M4F, its RAM held to 256 KB by firmware/memory.x).
#
#   scripts/firmware.sh
#
# The firmware scores 8 fixed windows with the seed CNN-LSTM twice, from an f32 and an int8 model file in flash,
# and prints its outputs and memory over semihosting. This script compares the outputs with the host's (f32:
# burn's, stored in crates/telltale-runtime/tests/fixtures; int8: the host runtime's) and ends with one line a
# file:
#
#   f32 max_abs_diff 1.2e-07 flash_bytes 337000 ram_bytes 150000
#
# flash_bytes is the whole image (code, both model files, .data's initial values); ram_bytes is measured on the
# board: the statics, the heap's peak (the model's unpacked layers and buffers) and the stack's deepest point
# (painted before, scanned after). Fails over 1e-5 (f32) or 1e-5 from the host (int8), or when RAM exceeds
# 256 KB. Installs qemu-system-arm and the Rust target when missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v qemu-system-arm >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing qemu-system-arm (Debian)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends qemu-system-arm >/dev/null
fi
if command -v rustup >/dev/null 2>&1; then
    rustup target list --installed | grep -qx thumbv7em-none-eabihf || rustup target add thumbv7em-none-eabihf
fi
# Its own target folder, whatever CARGO_TARGET_DIR says: the firmware is a workspace of its own.
(cd firmware && cargo build --release --locked --quiet --target-dir target)
elf=firmware/target/thumbv7em-none-eabihf/release/telltale-firmware
out=$(timeout 120 qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
    -semihosting-config enable=on,target=native -kernel "$elf")
python3 - crates/telltale-runtime/tests/fixtures <<PY
import struct, sys
fixtures = sys.argv[1]
lines = """$out""".splitlines()
def stored(name):
    b = open(f"{fixtures}/{name}", "rb").read()
    return struct.unpack(f"<{len(b) // 4}f", b)
want = {"f32": stored("cnn-lstm.burn.f32"), "int8": stored("cnn-lstm.int8.host.f32")}
got, mem, image = {"f32": {}, "int8": {}}, {}, {}
for line in lines:
    w = line.split()
    if not w:
        continue
    if w[0] in ("error", "panic"):
        sys.exit(f"firmware: {line}")
    if w[0] == "out":
        got[w[1]][int(w[2])] = float(w[3])
    elif w[0] == "mem":
        mem[w[1]] = dict(zip(w[2::2], map(int, w[3::2])))
    elif w[0] == "image":
        image = dict(zip(w[1::2], map(int, w[2::2])))
failed = []
for name in ("f32", "int8"):
    values = [got[name].get(i) for i in range(len(want[name]))]
    if None in values or name not in mem or not image:
        sys.exit(f"firmware: {name}: the board printed {len(got[name])} of {len(want[name])} outputs")
    diff = max(abs(a - b) for a, b in zip(values, want[name]))
    ram = image["ram_static"] + mem[name]["heap_peak"] + mem[name]["stack_peak"]
    print(f"{name} max_abs_diff {diff:.2g} flash_bytes {image['flash_bytes']} ram_bytes {ram}")
    if diff > 1e-5 or ram > 256 * 1024:
        failed.append(name)
if failed:
    sys.exit(f"firmware: {', '.join(failed)} over 1e-5 from the host or over 256 KB of RAM")
PY
