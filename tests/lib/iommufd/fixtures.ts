/**
 * Scenario setups shared by the iommufd and driver-op tests: the kernel selftest fixtures
 * (`iommufd_ioas` with two mock nested HWPTs, `iommufd_viommu` with a vDEVICE) and an ARM
 * vSMMU world, each built fresh per test; and a direct op call setup.
 * @module
 */

import { type EventLog, eventLogCreate } from "../../../lib/events.ts";
import { type Cmd, formatCmd } from "../../../lib/hw/smmuv3/cmd.ts";
import { smmuCreate, type SmmuDevice, type SmmuFeature } from "../../../lib/hw/smmuv3/smmu.ts";
import {
  deviceBind,
  hwptAllocNested,
  hwptAllocPaging,
  ioasAlloc,
  type Iommufd,
  iommufdCreate,
  type IommufdVariant,
  type UserDataArray,
  userMemCreate,
  userMemMap,
  userMemPoke,
  vdeviceAlloc,
  viommuAlloc,
} from "../../../lib/iommufd/mod.ts";

/** `TEST_F(iommufd_ioas, alloc_hwpt_nested)` setup: a mock device, a nest parent, two nested. */
export function selftestNestedWorld() {
  const log = eventLogCreate();
  const fd = iommufdCreate(log);
  const ioas = ioasAlloc(fd);
  const device = deviceBind(fd, { driver: "selftest" });
  const parent = hwptAllocPaging(fd, { ioasId: ioas, nestParent: true });
  const nested = [
    hwptAllocNested(fd, { parentId: parent, data: { driver: "selftest", iotlb: 0xbadbeef } }),
    hwptAllocNested(fd, { parentId: parent, data: { driver: "selftest", iotlb: 0xbadbeef } }),
  ];
  return { log, fd, ioas, device, parent, nested };
}

/** `FIXTURE(iommufd_viommu)` plus the vDEVICE (virtual ID 0x99) of `vdevice_cache`. */
export function selftestViommuWorld() {
  const log = eventLogCreate();
  const fd = iommufdCreate(log);
  const ioas = ioasAlloc(fd);
  const device = deviceBind(fd, { driver: "selftest" });
  const parent = hwptAllocPaging(fd, { ioasId: ioas, nestParent: true });
  const viommu = viommuAlloc(fd, { hwptId: parent, viommu: { driver: "selftest" } });
  const nested = hwptAllocNested(fd, { parentId: viommu, data: { driver: "selftest" } });
  const vdev = vdeviceAlloc(fd, { viommuId: viommu, deviceId: device, virtId: 0x99 });
  return { log, fd, ioas, device, parent, viommu, nested, vdev };
}

/** iommufd.md §7.6: 16-bit ASIDs, RIL, DS, ATS, SSIDs, VMID 5, vSID 0x99 → SID 0x1234. */
export const ARM_WORKED_EXAMPLE = {
  features: ["range_inv", "ds", "ats", "nesting"] as SmmuFeature[],
  asidBits: 16,
  ssidBits: 20,
  vmid: 5,
  vsid: 0x99,
  sid: 0x1234,
};

/** An ARM vSMMU world; `cmds()` lists what reached the SMMU's queue, `text()` as text. */
export function armWorld(opts: {
  readonly features?: readonly SmmuFeature[];
  readonly asidBits?: number;
  readonly ssidBits?: number;
} = {}) {
  const ex = ARM_WORKED_EXAMPLE;
  const log: EventLog = eventLogCreate();
  const smmu: SmmuDevice = smmuCreate("smmu0", log, {
    features: [...(opts.features ?? ex.features), "nesting"],
    asidBits: opts.asidBits ?? ex.asidBits,
    ssidBits: opts.ssidBits ?? ex.ssidBits,
  });
  const fd: Iommufd = iommufdCreate(log);
  const ioas = ioasAlloc(fd);
  const device = deviceBind(fd, { driver: "arm-smmu-v3", sids: [ex.sid] });
  const parent = hwptAllocPaging(fd, { ioasId: ioas, nestParent: true });
  const viommu = viommuAlloc(fd, {
    hwptId: parent,
    viommu: { driver: "arm-smmu-v3", smmu, vmid: ex.vmid },
  });
  const vdev = vdeviceAlloc(fd, { viommuId: viommu, deviceId: device, virtId: ex.vsid });
  const cmds = (): Cmd[] =>
    log.events.flatMap((e) => e.kind === "cmd" ? [e.cmd as unknown as Cmd] : []);
  const text = (): string[] => cmds().map((c) => formatCmd(c));
  return { log, smmu, fd, device, parent, viommu, vdev, cmds, text };
}

/** Entry bytes at 0x1000 plus an op context of `variant`. */
export function opSetup(
  bytes: Uint8Array,
  opts: {
    type: number;
    entryLen: number;
    entryNum: number;
    variant: IommufdVariant;
    chunk?: number;
  },
) {
  const mem = userMemCreate();
  userMemMap(mem, 0x1000n, Math.max(bytes.length, 1));
  userMemPoke(mem, 0x1000n, bytes);
  const log = eventLogCreate();
  const array: UserDataArray = {
    type: opts.type,
    uptr: 0x1000n,
    entryLen: opts.entryLen,
    entryNum: opts.entryNum,
  };
  return { array, ctx: { mem, log, variant: opts.variant, chunk: opts.chunk }, log };
}
