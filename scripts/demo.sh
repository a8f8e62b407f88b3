#!/usr/bin/env bash
# IsoCluster end to end on one machine: builds the boot fixture, serves it from a plain upstream HTTP server,
# starts the gateway (embedded silo), and boots one QEMU VM from http://127.0.0.1:<port>/iso/<MAC>/hook.iso,
# the way a BMC mounts virtual media. Prints the kernel command line the VM saw.
#
# Usage: bash scripts/demo.sh   (ports: DEMO_UPSTREAM_PORT, DEMO_GATEWAY_PORT; defaults 18180, 18181)
set -euo pipefail

repo="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
upstream_port="${DEMO_UPSTREAM_PORT:-18180}"
gateway_port="${DEMO_GATEWAY_PORT:-18181}"
mac="52:54:00:de:e0:01"
work="$(mktemp -d)"
pids=()

log() { printf '[%s] demo: %s\n' "$(date -u +%H:%M:%S)" "$*"; }

cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf -- "$work"
}
trap cleanup EXIT

missing=()
for package in qemu-system-x86 qemu-block-extra; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q update </dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q install -y --no-install-recommends "${missing[@]}" </dev/null
fi

log "building the boot fixture (cached after the first run)"
iso="$(bash "$repo/scripts/boot-fixture.sh" | tail -n 1)"

log "upstream: busybox httpd serving $(dirname "$iso") on 127.0.0.1:$upstream_port"
busybox httpd -f -p "127.0.0.1:$upstream_port" -h "$(dirname "$iso")" &
pids+=($!)

cat >"$work/hardware.yaml" <<YAML
apiVersion: tinkerbell.org/v1alpha1
kind: Hardware
metadata:
  name: demo01
spec:
  metadata:
    facility:
      facility_code: demo-hall
  interfaces:
    - dhcp:
        mac: "$mac"
        hostname: demo01
        vlan_id: "42"
        ip: {address: 192.0.2.50, netmask: 255.255.255.0, gateway: 192.0.2.1}
        name_servers: [192.0.2.2]
YAML

log "building and starting the gateway on 127.0.0.1:$gateway_port"
dotnet build "$repo/src/Gateway" -c Release -v quiet -nologo >/dev/null
dotnet "$repo/src/Gateway/bin/Release/net10.0/IsoCluster.Gateway.dll" \
    --urls "http://127.0.0.1:$gateway_port" \
    --iso-upstream-url "http://127.0.0.1:$upstream_port/$(basename "$iso")" \
    --hardware-file "$work/hardware.yaml" \
    --tink-server-addr-port 192.0.2.10:42113 --syslog-host 192.0.2.10 \
    --iso-static-ipam-enabled >"$work/gateway.log" 2>&1 &
pids+=($!)

url="http://127.0.0.1:$gateway_port/iso/$mac/hook.iso"
for _ in $(seq 60); do
    curl -sf -o /dev/null -I --max-time 2 "$url" && break
    sleep 1
done
curl -sf -o /dev/null -I --max-time 5 "$url" || { log "gateway did not come up:"; cat "$work/gateway.log"; exit 1; }

log "booting a VM from $url (QEMU, curl block driver; about 15-30 s under TCG)"
timeout 300 qemu-system-x86_64 -machine pc,accel="${ISOCLUSTER_QEMU_ACCEL:-tcg}" -m 256 -nodefaults -display none -no-reboot \
    -serial "file:$work/serial.log" -boot d \
    -drive "file.driver=http,file.url=$url,media=cdrom,if=ide,readonly=on,format=raw" || true

cmdline="$(sed -n '/ISOCLUSTER-CMDLINE-BEGIN/,/ISOCLUSTER-CMDLINE-END/p' "$work/serial.log" | sed '1d;$d' | grep -v '^\[ *[0-9]' || true)"
if [[ -z "$cmdline" ]]; then
    log "the VM did not report its command line; serial log:"
    cat "$work/serial.log"
    exit 1
fi
log "the VM's kernel saw this command line (/proc/cmdline):"
echo "$cmdline"
