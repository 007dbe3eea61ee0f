/**
 * Which containers use which volume. Kept in memory: the container service re-acquires the volumes of
 * the containers it knows when it starts, as dockerd rebuilds its references from its containers.
 */
export class VolumeRefs {
  private readonly byVolume = new Map<string, Set<string>>();

  acquire(name: string, containerId: string): void {
    let users = this.byVolume.get(name);
    if (!users) this.byVolume.set(name, (users = new Set()));
    users.add(containerId);
  }

  release(name: string, containerId: string): void {
    const users = this.byVolume.get(name);
    if (!users) return;
    users.delete(containerId);
    if (users.size === 0) this.byVolume.delete(name);
  }

  users(name: string): string[] {
    return [...(this.byVolume.get(name) ?? [])];
  }

  inUse(name: string): boolean {
    return (this.byVolume.get(name)?.size ?? 0) > 0;
  }
}
