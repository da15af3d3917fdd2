# Helpers for the scenario scripts, which run in a `memregion lab` guest (busybox sh, root) and leave every
# result in $LAB_OUT for the host-side assertions: NAME.out, NAME.err, NAME.rc of each command.
O=${LAB_OUT:-/out}
CXL=/sys/bus/cxl/devices
T=/sys/kernel/tracing
run() {
  name=$1; shift
  echo "[$(cut -d' ' -f1 /proc/uptime)] $name: $*" >&2
  # A bound against hangs: a command still running after 5 minutes is stopped (SIGTERM, then exit 143).
  timeout 300 "$@" > "$O/$name.out" 2> "$O/$name.err" < /dev/null
  echo $? > "$O/$name.rc"
}
# The kernel's side of things at a point: taint, log, kprobe_events.
snap() {
  cat /proc/sys/kernel/tainted > "$O/$1.tainted"
  dmesg > "$O/$1.dmesg"
  cat "$T/kprobe_events" > "$O/$1.kprobes" 2>/dev/null || : > "$O/$1.kprobes"
}
memdev_by_serial() { for d in $CXL/mem*; do [ "$(cat "$d/serial")" = "$1" ] && basename "$d"; done; }
endpoint_of() { for e in $CXL/endpoint*; do [ "$(basename "$(readlink "$e/uport")")" = "$1" ] && basename "$e"; done; }
# A one-way region over the memdev with serial $2 in mode $1 (ram or pmem), configured but not committed:
# the steps of ndctl's cxl create-region without its commit (sysfs-bus-cxl ABI).
make_region() {
  mode=$1
  mem=$(memdev_by_serial "$2")
  ep=$(endpoint_of "$mem")
  dec=decoder${ep#endpoint}.0
  root=$CXL/decoder0.0
  r=$(cat "$root/create_${mode}_region")
  echo "$r" > "$root/create_${mode}_region"
  [ "$mode" = pmem ] && uuidgen_from_proc > "$CXL/$r/uuid"
  cat "$root/interleave_granularity" > "$CXL/$r/interleave_granularity"
  echo 1 > "$CXL/$r/interleave_ways"
  echo 0x10000000 > "$CXL/$r/size"
  echo "$mode" > "$CXL/$dec/mode"
  echo 0x10000000 > "$CXL/$dec/dpa_size"
  echo "$dec" > "$CXL/$r/target0"
  echo "$r"
}
uuidgen_from_proc() { cat /proc/sys/kernel/random/uuid; }
# Waits until kprobe_events lists a probe: a traced run has placed its probes. Its content, not `-s`: tracefs
# files all stat as size 0, so `[ -s ]` never held and this was a plain 20 s sleep, too short for node
# under TCG on a loaded host. The bound (~120 s) is against hangs only.
wait_probes() { i=0; while [ -z "$(cat "$T/kprobe_events")" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done; }
# A `memregion trace -- sleep 60` stopped by signal $1 once its probes are in: exit code and what is left.
trace_signal() {
  memregion trace --json -- sleep 60 > "$O/trace-$1.out" 2> "$O/trace-$1.err" < /dev/null &
  pid=$!
  wait_probes
  cat "$T/kprobe_events" > "$O/trace-$1.during"
  # The wrapper script execs node, so $pid is memregion itself.
  kill "-$1" "$pid"
  wait "$pid"
  echo $? > "$O/trace-$1.rc"
  cat "$T/kprobe_events" > "$O/trace-$1.after"
}
