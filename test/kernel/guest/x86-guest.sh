# x86_64 guest (CPUID hypervisor bit set): no provider. Verdict, regions against cxl-cli, every refusal of
# invalidate --region in order, --force and what the kernel does then, lockdown raised at the end.
run probe memregion probe --json
run regions-empty memregion regions --json
run cxl-list cxl list -M
REGION=$(make_region ram 0x1001)
echo "$REGION" > "$O/region.name"
run regions memregion regions --json
run regions-human memregion regions
run cxl-list-regions cxl list -R -i
memregion-collect "$O/tree-configured"
run no-provider memregion invalidate --region "$REGION"
run no-provider-dry memregion invalidate --region "$REGION" --dry-run --json
run force-no-yes memregion invalidate --region "$REGION" --force
snap before-force
run force memregion invalidate --region "$REGION" --force --yes --json
snap after-force
cat "$CXL/$REGION/commit" > "$O/commit-after-force"
run bad-region memregion invalidate --region region99 --yes
echo confidentiality > /sys/kernel/security/lockdown
run lockdown-probe memregion probe --json
run lockdown-trace memregion trace --json --duration 1s
