/**
 * Network and volume events: the network manager and the volume service report what happened, this
 * turns it into dockerd's event shape (network: ID is the network id, attributes name/type and the
 * container for connect/disconnect; volume: ID is the name, attribute driver).
 */
import type { NetworkManager } from '../../slirp/manager.js';
import type { EngineVolumeService } from '../volumes/service.js';
import type { EventBus } from './bus.js';

export function wireResourceEvents(bus: EventBus, networks: NetworkManager, volumes: EngineVolumeService): void {
  networks.setEventSink((action, net, containerId) => {
    bus.emit('network', action, net.id, { ...(containerId ? { container: containerId } : {}), name: net.name, type: net.driver });
  });
  volumes.setEventSink((action, name, attributes) => bus.emit('volume', action, name, attributes));
}
