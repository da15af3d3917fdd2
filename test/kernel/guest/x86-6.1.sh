# Debian 12's Linux 6.1 (bare-metal CPU): no cpu_cache_invalidate_memregion at all, and a CXL commit that
# invalidates nothing. What does memregion say, and does it claim an invalidation?
run probe memregion probe --json
run kallsyms grep -c cpu_cache_invalidate_memregion /proc/kallsyms
REGION=$(make_region pmem 0x1002)
echo "$REGION" > "$O/region.name"
run regions memregion regions --json
memregion-collect "$O/tree-6.1"
run refused memregion invalidate --region "$REGION" --yes
run force memregion invalidate --region "$REGION" --force --yes --json
cat "$CXL/$REGION/commit" > "$O/commit-after-force"
snap end
