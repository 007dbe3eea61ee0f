/**
 * Image events (pull, tag, untag, delete) emitted around the image service's calls, so the image
 * code itself stays free of event plumbing. Every other method passes straight through.
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
    bus.emit('image', 'tag', id ?? name, { name: familiar(t ? `${repo}:${t}` : repo) });
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
  const overrides: Partial<ImageService> = { pull, tag, remove };
  return new Proxy(images, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && prop in overrides) return overrides[prop as keyof ImageService];
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
