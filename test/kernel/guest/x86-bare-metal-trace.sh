# x86_64 "bare metal" again, for what traces with real kprobes (a boot of its own: under TCG each traced run
# is slow, and one boot for all of it would be long): commit writes traced, stress --region, the probes'
# removal on signals and the sweep after SIGKILL.
REGION=$(make_region ram 0x1001)
echo "$REGION" > "$O/region.name"
echo 1 > "$CXL/$REGION/commit"
# Traced by hand: a decommit and a commit through sysfs.
run trace-writes memregion trace --json -- sh -c "echo 0 > $CXL/$REGION/commit; echo 1 > $CXL/$REGION/commit"
run stress memregion stress --region "$REGION" --cycles 3 --yes --json
run stress-ops memregion stress --region "$REGION" --ops 2 --yes --json
for s in INT TERM HUP; do trace_signal $s; done
memregion trace --json -- sleep 60 > /dev/null 2>&1 < /dev/null &
pid=$!
wait_probes
kill -9 "$pid"
wait "$pid"
cat "$T/kprobe_events" > "$O/trace-KILL.after"
run trace-sweep memregion trace --json --duration 1s
cat "$T/kprobe_events" > "$O/trace-sweep.after"
snap end
