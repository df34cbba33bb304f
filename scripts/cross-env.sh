# Sourced by scripts/test.sh and scripts/cross.sh: the ARM toolchains telltale is built and tested with.
#
#   . scripts/cross-env.sh            # installs what is missing, then exports the linkers and qemu runners
#
# Debian's cross compilers link (gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf) and Debian's qemu-user runs the
# test binaries (qemu-aarch64, qemu-arm with the cross sysroots). The settings are environment variables, not
# .cargo/config.toml: on a Raspberry Pi the same target is the host, built natively with no qemu.
CROSS_TARGETS="aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf thumbv7em-none-eabihf"

cross_install() {
    local need=()
    command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
    command -v arm-linux-gnueabihf-gcc >/dev/null 2>&1 || need+=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross)
    { command -v qemu-aarch64 >/dev/null 2>&1 && command -v qemu-arm >/dev/null 2>&1; } || need+=(qemu-user)
    if [ "${#need[@]}" -gt 0 ]; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        echo "installing ${need[*]} (Debian: cross linkers and qemu-user)"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
    if command -v rustup >/dev/null 2>&1; then
        local installed
        installed=$(rustup target list --installed)
        for t in $CROSS_TARGETS; do
            grep -qx "$t" <<<"$installed" || rustup target add "$t"
        done
    fi
}

cross_install
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUNNER="qemu-arm -L /usr/arm-linux-gnueabihf"
# C code in dependencies (SQLite, ring) built for the target.
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export CC_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
export AR_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-ar
