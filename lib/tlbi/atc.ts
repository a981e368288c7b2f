/**
 * ATS invalidation ranges: a PCIe ATS Invalidate Request names one naturally aligned
 * power-of-two block of 4 KiB pages, so the driver sends the smallest such block that
 * contains the range, in a single ATC_INV.
 * Models arm_smmu_atc_inv_to_cmd() at mainline 6a01b9f0a5ec.
 * @module
 */

import { fls, u64 } from "../bits.ts";
import { ATC_INV_SIZE_ALL, type CmdFor, makeCmd } from "../hw/smmuv3/cmd.ts";

/** `IOMMU_NO_PASID`: the RID (no PASID) attachment. */
export const IOMMU_NO_PASID = 0;

/** Arguments of {@link atcInvToCmd}. */
export interface AtcInvOptions {
  /** StreamID of the ATS endpoint. */
  readonly sid: number;
  /** PASID of the attachment; {@link IOMMU_NO_PASID} sends no PASID prefix (SSV=0). */
  readonly ssid: number;
  /** First address of the range. */
  readonly iova: bigint;
  /** Bytes; 0 means the whole ATC (SIZE 52). */
  readonly size: bigint;
}

/**
 * Follows arm_smmu_atc_inv_to_cmd(), with the SID the caller fills in afterwards.
 *
 * Without SSV the device drops every entry in the range, PASID-tagged ones included:
 * there is no way to target only the non-PASID entries.
 */
export function atcInvToCmd(opts: AtcInvOptions): CmdFor<"ATC_INV"> {
  const { sid, ssid, iova, size } = opts;
  const cmd = makeCmd("ATC_INV", { sid, ssv: ssid !== IOMMU_NO_PASID, ssid });
  if (size === 0n) {
    cmd.size = ATC_INV_SIZE_ALL;
    return cmd;
  }
  let pageStart = iova >> 12n;
  const pageEnd = u64(iova + size - 1n) >> 12n;
  const log2Span = fls(pageStart ^ pageEnd);
  pageStart &= ~((1n << BigInt(log2Span)) - 1n);
  cmd.addr = pageStart << 12n;
  cmd.size = log2Span;
  return cmd;
}
