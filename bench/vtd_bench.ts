// Cost of the VT-d consolidated flush (cache_tag_flush_range) per call: one domain on 4
// units with 1 or 16 ATS devices each, batched (CT-4) against unbatched (CT-1).
import { eventLogCreate } from "../lib/events.ts";
import { vtdIommuCreate } from "../lib/hw/vtd/iommu.ts";
import { iommuAttachDevice } from "../lib/drivers/intel/attach.ts";
import { cacheTagFlushRange } from "../lib/drivers/intel/cache_tag.ts";
import { intelIommuProbeDevice } from "../lib/drivers/intel/device.ts";
import { domainAlloc } from "../lib/drivers/intel/domain.ts";
import type { VtdVariant } from "../lib/drivers/intel/variant.ts";

function setup(variant: VtdVariant, perUnit: number) {
  const log = eventLogCreate();
  const d = domainAlloc("d", log, { variant });
  for (let u = 0; u < 4; u++) {
    const iommu = vtdIommuCreate(`dmar${u}`, log, { seqId: u });
    for (let i = 0; i < perUnit; i++) {
      const dev = intelIommuProbeDevice(iommu, { name: `d${u}.${i}`, sid: u << 8 | i, ats: true });
      iommuAttachDevice(d, dev);
    }
  }
  return { log, d };
}

for (const variant of ["CT-4", "CT-1"] as const) {
  for (const perUnit of [1, 16]) {
    const { log, d } = setup(variant, perUnit);
    Deno.bench({
      name: `cache_tag_flush_range ${variant}, 4 units x ${perUnit} ATS devices`,
      group: `units x ${perUnit}`,
      baseline: variant === "CT-4",
      fn() {
        log.events.length = 0;
        cacheTagFlushRange(d, { start: 0x3000n, end: 0x4fffn, ih: 1 });
      },
    });
  }
}
