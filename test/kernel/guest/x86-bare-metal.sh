# x86_64 "bare metal" (no hypervisor bit): the kernel invalidates with WBINVD. Commit, --cycle, --enable,
# the refusals of a committed region, erase, trace with real kprobes and its cleanup on signals, stress.
run probe memregion probe --json
REGION=$(make_region ram 0x1001)
echo "$REGION" > "$O/region.name"
MEM=$(memdev_by_serial 0x1001)
echo "$MEM" > "$O/memdev.name"
run no-yes memregion invalidate --region "$REGION"
snap before-commit
run commit memregion invalidate --region "$REGION" --yes --json
snap after-commit
run regions-committed memregion regions --json
memregion-collect "$O/tree-committed"
run again memregion invalidate --region "$REGION" --yes
run erase-committed memregion erase "$MEM" --method sanitize --yes --json
run cycle memregion invalidate --region "$REGION" --cycle --yes --json
run enable memregion invalidate --region "$REGION" --cycle --enable --yes --json
run regions-enabled memregion regions --json
# The region's DAX device comes up unbound here; bound to device_dax, it is in use.
for d in "$CXL/$REGION"/dax_region*/dax*; do basename "$d" > /sys/bus/dax/drivers/device_dax/bind; done 2> "$O/dax-bind.err"
ls -l "$CXL/$REGION"/dax_region*/dax*/ > "$O/dax-after-bind" 2>&1
run in-use memregion invalidate --region "$REGION" --cycle --yes
# Traced by hand: a decommit and a commit through sysfs, with the region unbound first.
echo "$REGION" > /sys/bus/cxl/drivers/cxl_region/unbind
run trace-writes memregion trace --json -- sh -c "echo 0 > $CXL/$REGION/commit; echo 1 > $CXL/$REGION/commit"
run stress memregion stress --region "$REGION" --cycles 3 --yes --json
for s in INT TERM HUP; do trace_signal $s; done
memregion trace --json -- sleep 60 > /dev/null 2>&1 < /dev/null &
pid=$!
wait_probes
kill -9 "$pid"
wait "$pid"
cat "$T/kprobe_events" > "$O/trace-KILL.after"
run trace-sweep memregion trace --json --duration 1s
cat "$T/kprobe_events" > "$O/trace-sweep.after"
# Erase needs every decoder decommitted: decommit, then sanitize.
echo 0 > "$CXL/$REGION/commit"
run erase memregion erase "$MEM" --method sanitize --yes --json
run secure-erase memregion erase "$MEM" --method secure-erase --yes
snap end
