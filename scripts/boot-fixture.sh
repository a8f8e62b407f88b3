#!/usr/bin/env bash
# Builds the boot fixture: a small BIOS-bootable ISO (grub-mkrescue) holding a Debian kernel and a busybox
# initramfs whose /init prints the kernel command line on the first serial port and powers off. Its grub.cfg
# `linux` line carries the HookOS magic string, as HookOS's ISO does, so IsoCluster patches it per machine.
#
# Usage: bash scripts/boot-fixture.sh [COPY_TO]   → prints the ISO's path as the last line of output.
#   With COPY_TO (e.g. artifacts/hook.iso, relative to the current directory), the ISO is also copied there and
#   that path is printed: the README's first command serves it as a local-file source ISO.
#
# Everything comes from Debian packages. The ISO is cached under ${ISOCLUSTER_CACHE:-~/.cache/isocluster},
# keyed by a hash of every input (package versions, init, grub.cfg, magic string, this script), so repeated
# test runs and CI runs on the same machine reuse it.
set -euo pipefail

copy_to="${1:-}"
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd -- "$here/.." && pwd)"
cache_root="${ISOCLUSTER_CACHE:-${HOME:-/root}/.cache/isocluster}/boot-fixture"
packages=(grub-pc-bin grub-common xorriso mtools busybox-static)

log() { printf '[%s] boot-fixture: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# Prints where the ISO ended up: the cache, or a fresh copy at COPY_TO (written beside it, then renamed, so a
# gateway reading the old copy never sees a half-written file).
publish() {
    if [[ -z "$copy_to" ]]; then
        echo "$1"
        return
    fi
    mkdir -p -- "$(dirname -- "$copy_to")"
    cp -- "$1" "$copy_to.tmp.$$" && mv -f -- "$copy_to.tmp.$$" "$copy_to"
    log "copied to $copy_to"
    echo "$copy_to"
}

apt_get() {
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q "$@" </dev/null >&2
}

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
kernel_package="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
if ((${#missing[@]} > 0)) || [[ -z "$kernel_package" ]]; then
    log "installing ${missing[*]:-nothing} (and refreshing the package lists)"
    apt_get update
    ((${#missing[@]} == 0)) || apt_get install -y --no-install-recommends "${missing[@]}"
    kernel_package="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
fi
[[ -n "$kernel_package" ]] || { log "cannot find the Debian kernel package behind linux-image-amd64"; exit 1; }
kernel_version="$(apt-cache policy "$kernel_package" | awk '/Candidate:/ { print $2; exit }')"

# The magic string is the product's own constant, read from its source so the two cannot drift apart.
magic="$(grep -o '"[0-9a-z]\{1024\}"' "$repo/src/Grains/SourceIso/IsoOptions.cs" | tr -d '"')"
[[ ${#magic} -eq 1024 ]] || { log "cannot read the HookOS magic string from IsoOptions.cs"; exit 1; }

key="$( {
    echo "$kernel_package $kernel_version"
    dpkg-query -W -f='${Package} ${Version}\n' "${packages[@]}"
    cat "$here/boot-fixture/init" "$here/boot-fixture/grub.cfg.in" "$here/boot-fixture.sh"
    echo "$magic"
} | sha256sum | cut -c1-16)"
out_dir="$cache_root/$key"
iso="$out_dir/hook.iso"
if [[ -s "$iso" ]]; then
    log "cached: $iso"
    publish "$iso"
    exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf -- "$work"' EXIT
log "building with $kernel_package $kernel_version in $work"

# The kernel is unpacked from its .deb, never installed: installing it would run the host's boot loader hooks.
# Package lists can be older than the mirror (a kernel security update replaces the file): refresh once and retry.
if ! (cd "$work" && apt-get download -q "$kernel_package=$kernel_version" >&2); then
    log "kernel download failed; refreshing the package lists and retrying once"
    apt_get update
    kernel_package="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
    kernel_version="$(apt-cache policy "$kernel_package" | awk '/Candidate:/ { print $2; exit }')"
    (cd "$work" && apt-get download -q "$kernel_package=$kernel_version" >&2)
fi
mkdir -p "$work/kernel" "$work/iso/boot/grub" "$work/initramfs"/{bin,dev,proc,sys}
dpkg-deb --fsys-tarfile "$work"/"$kernel_package"_*.deb | tar -x -C "$work/kernel" --wildcards './boot/vmlinuz-*'
cp "$work"/kernel/boot/vmlinuz-* "$work/iso/boot/vmlinuz"

cp /bin/busybox "$work/initramfs/bin/busybox"
ln -s busybox "$work/initramfs/bin/sh"
install -m 0755 "$here/boot-fixture/init" "$work/initramfs/init"
(cd "$work/initramfs" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -9) > "$work/iso/boot/initrd.gz"

sed "s/@MAGIC@/$magic/" "$here/boot-fixture/grub.cfg.in" > "$work/iso/boot/grub/grub.cfg"
grub-mkrescue -o "$work/hook.iso" "$work/iso" >&2 2>"$work/grub-mkrescue.log" || { cat "$work/grub-mkrescue.log" >&2; exit 1; }

mkdir -p "$out_dir"
mv "$work/hook.iso" "$iso.tmp" && mv "$iso.tmp" "$iso"
log "built $iso ($(stat -c %s "$iso") bytes)"
publish "$iso"
