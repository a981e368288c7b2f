// Map/unmap throughput of the page-table model (lib/pgtable): 1G as 4K pages, as 2M blocks
// and as one block, on io-pgtable-arm (SMMUv3) and iommupt (VT-d), and the hardware walk.
import { eventLogCreate } from "../lib/events.ts";
import {
  iommuMap,
  iommuUnmap,
  ioPgtableAlloc,
  ioPgtableWalk,
  type PgtableFmt,
  SZ_1G,
  SZ_2M,
  SZ_4K,
} from "../lib/pgtable/mod.ts";

function mapUnmap(fmt: PgtableFmt, size: bigint, skew: bigint): number {
  const pt = ioPgtableAlloc(eventLogCreate(), { fmt, pgsizeBitmap: SZ_4K | SZ_2M | SZ_1G });
  const m = iommuMap(pt, { iova: SZ_1G, paddr: 0x1_0000_0000n + skew, size });
  const u = iommuUnmap(pt, { iova: SZ_1G, size });
  return m.steps.length + u.steps.length;
}

for (const fmt of ["ARM_64_LPAE_S1", "vtdss"] as const) {
  for (
    const [name, size, skew] of [
      ["8K of 4K pages", 0x2000n, 0n],
      ["2M of 4K pages", SZ_2M, SZ_4K],
      ["1G of 2M blocks", SZ_1G, SZ_2M],
      ["1G block", SZ_1G, 0n],
      ["64M of 4K pages", 0x4000000n, SZ_4K],
    ] as const
  ) {
    Deno.bench({ name: `map+unmap ${name}`, group: fmt, fn: () => void mapUnmap(fmt, size, skew) });
  }
}

const walkPt = ioPgtableAlloc(eventLogCreate(), { pgsizeBitmap: SZ_4K | SZ_2M | SZ_1G });
iommuMap(walkPt, { iova: 0n, paddr: 0x1_0000_1000n, size: SZ_2M });
Deno.bench({
  name: "walk 512 4K pages",
  group: "walk",
  fn: () => {
    for (let i = 0n; i < 512n; i++) ioPgtableWalk(walkPt, i << 12n);
  },
});
