/**
 * The guest's /init (busybox sh): mounts what the sysfs backend reads, loads the CXL drivers, waits for
 * the memdevs, runs the command with its stdout and stderr on their own virtio-serial ports, then sends
 * its exit code and the files it left in /out, and powers off. Ports are found by name in sysfs (there is
 * no udev to make /dev/virtio-ports/ links).
 */
export const GUEST_INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/usr/local/bin:/usr/bin:/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /tmp /out /root /run
mount -t tmpfs tmpfs /tmp
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
. /lab/env
# The ports' driver first (a module on Debian 12's 6.1): until it is in, every port is the console.
for m in $LAB_EARLY_MODULES; do insmod "/lib/modules/lab/$m.ko" 2>/dev/null; done
i=0
while [ -z "$(ls /sys/class/virtio-ports 2>/dev/null)" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port() {
  for p in /sys/class/virtio-ports/*; do
    [ "$(cat "$p/name" 2>/dev/null)" = "memregion.$1" ] && { echo "/dev/$(basename "$p")"; return; }
  done
  echo /dev/console
}
STATUS=$(port status)
say() { echo "$*" > "$STATUS"; }
say "booted $(cut -d' ' -f1 /proc/uptime)"
for m in $LAB_MODULES; do
  insmod "/lib/modules/lab/$m.ko" 2>/dev/null || say "module-failed $m"
done
i=0
while [ "$(ls -d /sys/bus/cxl/devices/mem* 2>/dev/null | wc -l)" -lt "$LAB_CXL_COUNT" ] && [ $i -lt 600 ]; do
  sleep 0.1; i=$((i + 1))
done
# Endpoint decoders appear after the memdevs (cxl_mem probes each port): wait for one per memdev.
i=0
while [ "$(ls -d /sys/bus/cxl/devices/endpoint* 2>/dev/null | wc -l)" -lt "$LAB_CXL_COUNT" ] && [ $i -lt 300 ]; do
  sleep 0.1; i=$((i + 1))
done
for d in /sys/bus/cxl/devices/mem*; do
  [ -e "$d/serial" ] && say "memdev $(basename "$d") $(cat "$d/serial")"
done
say "ready $(cut -d' ' -f1 /proc/uptime)"
cd /root
export HOME=/root LAB_OUT=/out
sh /lab/command < /dev/null > "$(port stdout)" 2> "$(port stderr)"
rc=$?
FILES=$(port files)
if [ "$FILES" != /dev/console ] && [ -n "$(ls -A /out)" ]; then tar -C /out -cf "$FILES" .; fi
say "exit $rc $(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
`;

/**
 * memregion-collect DIR: copies, with busybox only, every file the sysfs backend reads (DESIGN §6) into
 * DIR, laid out as under / so that `memregion --root DIR` judges the machine elsewhere (an arm64 guest has
 * no node) and tests can keep the tree as a fixture. /dev/kmsg is read until it has nothing new (cat
 * blocks at its end, hence the timeout); kallsyms keeps only the symbols the backend looks for.
 */
export const COLLECT_SCRIPT = String.raw`#!/bin/sh
set -u
[ $# -eq 1 ] || { echo "usage: memregion-collect DIR" >&2; exit 64; }
dest=$1
mkdir -p "$dest"
copy() { for f in "$@"; do [ -f "$f" ] && [ -r "$f" ] || continue; mkdir -p "$dest$(dirname "$f")"; cat "$f" > "$dest$f" 2>/dev/null || : > "$dest$f"; done; }
copy /proc/sys/kernel/osrelease /proc/sys/kernel/arch /proc/cpuinfo /proc/iomem /sys/kernel/security/lockdown
copy /boot/config-"$(cat /proc/sys/kernel/osrelease)"
copy /sys/kernel/debug/psci /proc/device-tree/psci/method /proc/device-tree/psci/compatible
copy /sys/firmware/devicetree/base/psci/method /sys/firmware/devicetree/base/psci/compatible
for s in /sys/devices/soc*; do [ -d "$s" ] && copy "$s/soc_id" "$s/family" "$s/revision" "$s/machine"; done
# Memory blocks: online ones inside a region's range make it in use (region-users.ts).
copy /sys/devices/system/memory/block_size_bytes
for m in /sys/devices/system/memory/memory*; do copy "$m/state"; done
mkdir -p "$dest/dev" "$dest/proc"
timeout 2 cat /dev/kmsg > "$dest/dev/kmsg" 2>/dev/null
grep -E ' (cpu_cache_invalidate_memregion|cpu_cache_has_invalidate_memregion|smccc_cache_|hisi_soc_hha|cache_coherency|wbinvd_on_all_cpus)' /proc/kallsyms > "$dest/proc/kallsyms" 2>/dev/null
for bus in cxl nd; do
  for dev in /sys/bus/$bus/devices/*; do
    [ -e "$dev" ] || continue
    name=$(basename "$dev")
    out="$dest/sys/bus/$bus/devices/$name"
    mkdir -p "$out"
    # -type f without following links: driver/, subsystem/ and port links would loop.
    # Child devices (root0/port1/...) are listed on the bus themselves: pruned here.
    (cd "$dev/" && find . -mindepth 1 -maxdepth 3 -type d \( -name 'port[0-9]*' -o -name 'endpoint[0-9]*' -o -name 'decoder[0-9]*' -o -name 'mem[0-9]*' -o -name 'pmem[0-9]*' -o -name 'region[0-9]*' -o -name 'root[0-9]*' -o -name 'nvdimm-bridge*' -o -name 'ndbus[0-9]*' \) -prune -o -type f -print) | while read -r f; do
      case "$f" in */power/*|*/uevent|./modalias|*/firmware_node/*) continue;; esac
      mkdir -p "$out/$(dirname "$f")"
      cat "$dev/$f" > "$out/$f" 2>/dev/null || : > "$out/$f"
    done
    # The backend reads only the names these links point to (the driver, an endpoint's memdev).
    (cd "$dev/" && find . -maxdepth 3 -type l \( -name driver -o -name uport \)) | while read -r f; do
      mkdir -p "$out/$(dirname "$f")"
      ln -sfn "$(readlink "$dev/$f")" "$out/$f"
    done
  done
  for drv in /sys/bus/$bus/drivers/*; do
    [ -d "$drv" ] || continue
    mkdir -p "$dest/sys/bus/$bus/drivers/$(basename "$drv")"
    for f in bind unbind; do : > "$dest/sys/bus/$bus/drivers/$(basename "$drv")/$f"; done
  done
done
`;
