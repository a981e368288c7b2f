/**
 * VT-d-only verbs: the consolidated cache-tag flushes called directly (as the unmap sync,
 * the nested user invalidation and the superpage switch call them), and the SVA mmu
 * notifier. Addresses are the kernel's: `start`/`end` inclusive for the cache-tag flushes,
 * `end` exclusive for the notifier (the mm convention).
 * @module
 */

import { z } from "zod";
import {
  cacheTagFlushRange,
  cacheTagFlushRangeNp,
  intelArchInvalidateSecondaryTlbs,
} from "../../lib/drivers/intel/mod.ts";
import { Name, U64, uint } from "../schema.ts";
import { defineVerb } from "../verbs/verb.ts";
import { vtdDomainOf } from "./vtd_world.ts";

const Domain = { domain: Name.meta({ description: "a VT-d domain" }) };
const refs = { domain: "domains" } as const;

/** The VT-d verbs. */
export const VTD_VERBS = [
  defineVerb({
    name: "flush_range",
    doc: "cache_tag_flush_range(): invalidate [start, end] (inclusive) in every cache of a " +
      "VT-d domain; ih 1 keeps paging-structure caches",
    schema: z.strictObject({
      ...Domain,
      start: U64,
      end: U64.meta({ description: "last byte (inclusive); start 0 with end 2^64-1 is all" }),
      ih: uint(1).optional().meta({ description: "invalidation hint, 0 (default) or 1" }),
    }),
    refs,
    apply(world, a) {
      const ih = a.ih === 1 ? 1 : 0;
      cacheTagFlushRange(vtdDomainOf(world, a.domain), { start: a.start, end: a.end, ih });
      return {};
    },
  }),
  defineVerb({
    name: "flush_range_np",
    doc: "cache_tag_flush_range_np(): new mappings in [start, end]; only caching-mode units " +
      "flush (second-stage IOTLB tags)",
    schema: z.strictObject({ ...Domain, start: U64, end: U64 }),
    refs,
    apply(world, a) {
      cacheTagFlushRangeNp(vtdDomainOf(world, a.domain), { start: a.start, end: a.end });
      return {};
    },
  }),
  defineVerb({
    name: "sva_notify",
    doc: "intel_arch_invalidate_secondary_tlbs(): the mm notifier on a VT-d SVA domain, " +
      "[start, end) (start 0, end 2^64-1: all)",
    schema: z.strictObject({
      domain: Name.meta({ description: "a VT-d SVA domain" }),
      start: U64,
      end: U64.meta({ description: "first byte after the range (exclusive)" }),
    }),
    refs,
    apply(world, a) {
      intelArchInvalidateSecondaryTlbs(vtdDomainOf(world, a.domain), a);
      return {};
    },
  }),
] as const;
