#!/usr/bin/env bash
# telltale's whole test suite: the one command CI runs (.ci/run calls it).
#
#   scripts/test.sh
#
# Checks formatting, lints every target with warnings as errors, then builds
# once and runs every test: unit, property, golden (scikit-learn values),
# integration (the `telltale` binary end to end) and doc tests.
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

# --- checks -----------------------------------------------------------------
log "format"
cargo fmt --all -- --check

log "clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "tests"
cargo test --workspace --locked --no-fail-fast

log "benchmarks, each run once so they never rot (cargo bench times them)"
cargo test --workspace --locked --benches

log "all checks passed"
