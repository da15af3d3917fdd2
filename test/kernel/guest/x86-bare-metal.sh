# x86_64 "bare metal" (no hypervisor bit): the kernel invalidates with WBINVD. Commit, --cycle, --enable,
# the refusals of a committed region (in use among them), erase. Tracing is x86-bare-metal-trace.sh.
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
# The region's DAX device comes up unbound here; bound to device_dax, it is in use. A CXL region's DAX
# devices are kmem-type (IORESOURCE_DAX_KMEM), so dax_match_type() in drivers/dax/bus.c lets device_dax
# have one only by name: new_id (do_id_store() attaches it), not bind, which fails with ENODEV.
DAX=$(cd "$CXL/$REGION"/dax_region* && ls -d dax[0-9]*.[0-9]*)
echo "$DAX" > "$O/dax.name"
echo "$DAX" > /sys/bus/dax/drivers/device_dax/new_id 2> "$O/dax-bind.err" || echo "new_id failed" >> "$O/dax-bind.err"
basename "$(readlink "/sys/bus/dax/devices/$DAX/driver")" > "$O/dax-driver" 2>&1
memregion-collect "$O/tree-in-use"
run in-use memregion invalidate --region "$REGION" --cycle --yes
cat "$CXL/$REGION/commit" > "$O/in-use.commit"
basename "$(readlink "/sys/bus/dax/devices/$DAX/driver")" > "$O/in-use.driver" 2>&1
# Unbound again, nothing uses the region.
echo "$DAX" > /sys/bus/dax/drivers/device_dax/remove_id
echo "$DAX" > /sys/bus/dax/drivers/device_dax/unbind
# Erase needs every decoder decommitted: decommit, then sanitize.
echo 0 > "$CXL/$REGION/commit"
run erase memregion erase "$MEM" --method sanitize --yes --json
run secure-erase memregion erase "$MEM" --method secure-erase --yes
snap end
# The whole flow of a region, on the region committed again: one confirmation, the decommit, the sanitize
# of its memdev, the commit again (which invalidates, through WBINVD here).
echo 1 > "$CXL/$REGION/commit"
run erase-region-no-yes memregion erase --region "$REGION"
cat "$CXL/$REGION/commit" > "$O/erase-region-no-yes.commit"
run erase-region memregion erase --region "$REGION" --recommit --yes --json
cat "$CXL/$REGION/commit" > "$O/erase-region.commit"
snap after-erase-region
