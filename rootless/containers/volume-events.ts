/** dockerd's `mount`/`unmount` volume events around a container's run (setupMounts, UnmountVolumes). */
import type { ContainerRecord } from '../../translate/container-record.js';
import type { EventBus } from '../events/bus.js';

export function emitVolumeMounts(bus: EventBus, rec: ContainerRecord, action: 'mount' | 'unmount'): void {
  for (const { request, volume } of rec.mounts ?? []) {
    if (!volume || request.kind !== 'volume') continue;
    // Keys in Go's (sorted) map order, as dockerd's JSON has them.
    const attributes: Record<string, string> = action === 'mount'
      ? { container: rec.id, destination: request.destination, driver: 'local', propagation: '', 'read/write': String(!request.readOnly) }
      : { container: rec.id, driver: 'local' };
    bus.emit('volume', action, volume, attributes);
  }
}
