/**
 * Where the VT-d models sit in a World: the driver's devices (`device_domain_info`) and
 * domains (`dmar_domain`) by spec name. Verbs and expectations look them up here; a
 * missing one is an invspec bug, since the load-time checks refuse specs that name them
 * wrongly.
 * @module
 */

import type { DeviceDomainInfo } from "../../lib/drivers/intel/device.ts";
import type { DmarDomain } from "../../lib/drivers/intel/domain.ts";
import type { World } from "../world.ts";

/** The VT-d part of a World. */
export type VtdWorld = NonNullable<World["vtd"]>;

/** The VT-d part of `world`, or a TypeError (an invspec bug). */
export function vtdOf(world: World): VtdWorld {
  if (!world.vtd) throw new TypeError("invspec bug: no VT-d model in this World");
  return world.vtd;
}

/** The driver's domain behind a spec domain name. */
export function vtdDomainOf(world: World, name: string): DmarDomain {
  const d = vtdOf(world).domains.get(name);
  if (!d) throw new TypeError(`invspec bug: domain "${name}" is not a VT-d domain`);
  return d;
}

/** The driver's record of a spec device. */
export function vtdDeviceOf(world: World, name: string): DeviceDomainInfo {
  const d = vtdOf(world).devices.get(name);
  if (!d) throw new TypeError(`invspec bug: device "${name}" is not behind a VT-d unit`);
  return d;
}
