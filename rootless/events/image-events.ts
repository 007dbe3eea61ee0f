/**
 * Image events (pull, tag, untag, delete, load, import) emitted around the image service's calls,
 * so the image code itself stays free of event plumbing. Every other method passes straight
 * through. `tagEvent` is also what a build or commit that names its image sends.
 */
import type { ImageService } from '../images/interface.js';
import { familiarString, parseNormalizedNamed, withDefaultTag } from '../../translate/image-ref.js';
import type { EventBus } from './bus.js';

function familiar(ref: string): string {
  try {
    return familiarString(withDefaultTag(parseNormalizedNamed(ref)));
  } catch {
    return ref;
  }
}

async function imageId(images: ImageService, name: string): Promise<string | undefined> {
  try {
    return (await images.inspect(name)).id;
  } catch {
    return undefined;
  }
}

/** dockerd's TagImage event: the image's ID, the new name (default tag added) as `name`. */
export function tagEvent(bus: EventBus, id: string, ref: string): void {
  bus.emit('image', 'tag', id, { name: familiar(ref) });
}

export function withImageEvents<T extends ImageService>(images: T, bus: EventBus): T {
  const pull: ImageService['pull'] = async (params, emit, signal) => {
    await images.pull(params, emit, signal);
    const tag = params.tag ? (params.tag.startsWith('sha256:') ? `@${params.tag}` : `:${params.tag}`) : '';
    const ref = familiar(`${params.fromImage}${tag}`);
    bus.emit('image', 'pull', ref, { name: ref.replace(/(:[^/:@]+|@.*)$/, '') });
  };
  const tag: ImageService['tag'] = async (name, repo, t) => {
    await images.tag(name, repo, t);
    const id = await imageId(images, name);
    tagEvent(bus, id ?? name, t ? `${repo}:${t}` : repo);
  };
  // dockerd's loader sends one `load` per image it made, the ID as its name too; tags it sets are not `tag` events.
  const load: ImageService['load'] = async (body, quiet, emit) => {
    const ids = await images.load(body, quiet, emit);
    for (const id of ids) bus.emit('image', 'load', id, { name: id });
    return ids;
  };
  // dockerd's ImportImage tags the new image first (a `tag` event), then sends `import`.
  const importImage: ImageService['importImage'] = async (params, emit, signal) => {
    const id = await images.importImage(params, emit, signal);
    if (params.repo) tagEvent(bus, id, params.tag ? `${params.repo}:${params.tag}` : params.repo);
    bus.emit('image', 'import', id, { name: id });
    return id;
  };
  const remove: ImageService['remove'] = async (name, opts) => {
    const id = await imageId(images, name);
    // Deleted entries name images and layers alike; the images before the call tell them apart
    // (a tag's removal also deletes its untagged parents, each with a delete event in dockerd).
    const before = new Set((await images.list({ all: true, digests: false })).map((i) => i.id));
    const items = await images.remove(name, opts);
    for (const item of items) {
      if ('untagged' in item) bus.emit('image', 'untag', id ?? item.untagged, { name: id ?? item.untagged });
      else if (before.has(item.deleted)) bus.emit('image', 'delete', item.deleted, { name: item.deleted });
    }
    return items;
  };
  const overrides: Partial<ImageService> = { pull, tag, remove, load, importImage };
  return new Proxy(images, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && prop in overrides) return overrides[prop as keyof ImageService];
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
