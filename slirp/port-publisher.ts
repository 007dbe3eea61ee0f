/**
 * A container's published ports: the hub agent binds the host side in the host netns (so dockerd's
 * errors come back at once), then forwards it to the container's first endpoint that has a way
 * out. Keeps the agent's forward keys per container to close them on release.
 */
import { rootLogger } from '../rootless/log.js';
import type { Hub } from './hub.js';
import { bindHostPort, type BoundSocket, type PortRequest } from './ports.js';
import type { ContainerNetRecord, EndpointRecord, PublishedPort } from './types.js';

export class PortPublisher {
  /** Forward keys the agent holds, per container. */
  private readonly forwardKeys = new Map<string, string[]>();

  constructor(
    private readonly hub: Hub,
    private readonly canPublish: (e: EndpointRecord) => boolean,
  ) {}

  /** Binds every request's host port; all or none (a refused port closes the ones bound before). */
  async bind(rec: ContainerNetRecord, requests: readonly PortRequest[]): Promise<{ port: PublishedPort; sock: BoundSocket }[]> {
    const bound: { port: PublishedPort; sock: BoundSocket }[] = [];
    try {
      for (const req of requests) {
        const sock = await bindHostPort(this.hub.requireAgent(), req, { name: rec.name, id: rec.endpoints[0]?.endpointId ?? rec.containerId });
        bound.push({ port: { proto: req.proto, containerPort: req.containerPort, hostIp: req.hostIp, hostPort: sock.port }, sock });
      }
    } catch (err) {
      for (const b of bound) b.sock.handle.close();
      throw err;
    }
    return bound;
  }

  /** Starts forwarding a port the agent holds; one with no endpoint to reach is given up. */
  async forward(rec: ContainerNetRecord, p: PublishedPort, sock: BoundSocket): Promise<void> {
    const target = rec.endpoints.find((e) => this.canPublish(e));
    if (!target) {
      sock.handle.close();
      return;
    }
    const key = `${rec.containerId}/${p.proto}/${p.hostIp}/${p.hostPort}`;
    await this.hub.requireAgent().forward(key, sock.proto, sock.handle, { ip: target.ip, port: p.containerPort });
    this.forwardKeys.set(rec.containerId, [...(this.forwardKeys.get(rec.containerId) ?? []), key]);
  }

  /** After a daemon restart: binds a surviving container's ports again; one that is taken now is logged and skipped. */
  async republish(rec: ContainerNetRecord): Promise<void> {
    for (const p of rec.ports) {
      try {
        const sock = await bindHostPort(this.hub.requireAgent(), { proto: p.proto, containerPort: p.containerPort, hostIp: p.hostIp, hostPorts: [p.hostPort] }, { name: rec.name, id: rec.endpoints[0]!.endpointId });
        await this.forward(rec, p, sock);
      } catch (err) {
        rootLogger().warn({ err, container: rec.containerId }, 'could not re-publish port %d', p.hostPort);
      }
    }
  }

  /** The agent that held every forward is gone: nothing to close any more. */
  forgetAll(): void {
    this.forwardKeys.clear();
  }

  /** Closes the container's forwards in the agent (if it runs); never throws. */
  async unpublish(containerId: string): Promise<void> {
    const keys = this.forwardKeys.get(containerId) ?? [];
    this.forwardKeys.delete(containerId);
    if (!this.hub.started) return;
    for (const key of keys) {
      try {
        await this.hub.requireAgent().close(key);
      } catch {
        // An agent that is gone holds no forwards.
      }
    }
  }
}
