#!/usr/bin/env bash
# telltale's whole test suite: the one command CI runs (.ci/run calls it).
#
#   scripts/test.sh
#
# Checks formatting, lints every target with warnings as errors, then builds
# once and runs every test: unit, property, golden (scikit-learn values),
# integration (the `telltale` binary end to end) and doc tests, then runs
# every fuzz target briefly. Some tests mount a small tmpfs (a full disk):
# run it as root.
# It installs what the tests need when it is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '\n== %s\n' "$*"; }

# --- what the tests need --------------------------------------------------
if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust from https://rustup.rs first" >&2
    exit 1
fi
if command -v rustup >/dev/null 2>&1; then
    for component in rustfmt clippy; do
        rustup component list --installed 2>/dev/null | grep -q "^${component}" ||
            rustup component add "${component}"
    done
fi

# Real servers the tests start on loopback: Debian's PostgreSQL, MariaDB and Mosquitto (and openssl, which makes
# the certificates of the TLS test); Debian's Chromium and Node.js drive the dashboard in a real browser.
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || need+=(postgresql)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ "${#need[@]}" -gt 0 ]; then
    log "installing ${need[*]} (Debian packages the tests run)"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    # Installed only: the tests start their own servers; the packages' services are not needed.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The browser test's driver, playwright-core, from npm at the version package-lock.json pins (1.61: the last
# that runs on Debian's Node.js 18).
pinned() {
    node -e "const d='./tests/browser/'; const v=(f)=>require(d+f);
      process.exit(v('node_modules/playwright-core/package.json').version ===
        v('package-lock.json').packages['node_modules/playwright-core'].version ? 0 : 1)" 2>/dev/null
}
if ! pinned; then
    log "installing playwright-core (npm) for the browser test"
    npm ci --prefix tests/browser --no-audit --no-fund >/dev/null
fi

# ONNX Runtime, LiteRT (TFLite's interpreter) and numpy from PyPI, in a venv of the build folder: the ONNX and
# TFLite export tests and the import test run their files there.
if ! target/ci-tools/bin/python -c "import onnxruntime, numpy, ai_edge_litert" >/dev/null 2>&1; then
    log "installing onnxruntime, ai-edge-litert and numpy (PyPI) into target/ci-tools for the ONNX and TFLite tests"
    [ -x target/ci-tools/bin/pip ] || python3 -m venv target/ci-tools >/dev/null 2>&1 || {
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv target/ci-tools
    }
    target/ci-tools/bin/pip install -q --disable-pip-version-check onnxruntime numpy ai-edge-litert
fi

# --- checks -----------------------------------------------------------------
log "format"
cargo fmt --all -- --check

log "clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "dependencies: licences, advisories, duplicate versions, sources (cargo-deny, deny.toml)"
scripts/deny.sh

log "docs (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

# The declared MSRV (rust-version in Cargo.toml): the build above is at it when the toolchain is that release;
# otherwise the workspace is checked once more with that release (rustup installs it when missing).
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
log "MSRV ${msrv}"
if rustc --version | grep -q "^rustc ${msrv}[. ]"; then
    echo "rustc is $(rustc --version | cut -d' ' -f2): the checks above ran at the declared MSRV"
elif command -v rustup >/dev/null 2>&1; then
    rustup toolchain list | grep -q "^${msrv}" || rustup toolchain install "${msrv}" --profile minimal
    cargo "+${msrv}" check --workspace --all-targets --locked
else
    echo "no rustup to install Rust ${msrv} with; MSRV not checked" >&2
    exit 1
fi

# The GPU backends compile (no GPU is needed to check them; CI has none). One check with both features reaches
# every `cfg` arm the default build does not: each `cfg(feature = ...)` and `cfg(any(cuda, wgpu))` is on in it.
# DOCS_RS=1: burn's CUDA backend pulls tracel-llvm-bundler, whose build script downloads LLVM from outside the
# crate registry (no network for it here); a check needs no LLVM, and that script skips the download under DOCS_RS.
log "features: telltale-cli (and telltale-models) with cuda and wgpu"
DOCS_RS=1 cargo check -p telltale-cli --features cuda,wgpu --locked --quiet

log "tests"
cargo test --workspace --locked --no-fail-fast

# The edge runtime on the boards it is for: its tests (NEON and the scalar path against burn's stored outputs)
# under qemu-user for the Raspberry Pi targets, and its no_std build in a firmware for Cortex-M4F/M7. The whole
# binary's cross build is scripts/cross.sh (minutes on 2 cores).
log "edge: telltale-runtime on aarch64 and armv7 (qemu-user), a Cortex-M4F firmware (qemu-system-arm)"
. scripts/cross-env.sh
for target in aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf; do
    cargo test -p telltale-runtime --target "$target" --locked
done
# The no_std runtime in a Cortex-M4F firmware on QEMU's mps2-an386: outputs against the host's, RAM under 256 KB.
scripts/firmware.sh

log "benchmarks, each run once so they never rot (cargo bench times them)"
cargo test --workspace --locked --benches

# Every parser of outside input under libFuzzer for a short while on its committed seeds (an unoptimised build:
# quicker to make; scripts/fuzz.sh without FUZZ_BUILD runs the optimised campaign build). It installs the nightly
# toolchain and cargo-fuzz when missing; a crash fails the suite with its input under fuzz/artifacts/.
log "fuzzing: each target 15 s from its seed corpus (scripts/fuzz.sh)"
FUZZ_BUILD=--dev scripts/fuzz.sh 15

log "all checks passed"
