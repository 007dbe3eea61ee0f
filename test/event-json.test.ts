import { describe, expect, it } from 'vitest';
import { eventLine, eventLines, type EngineEvent } from '../translate/events.js';

/** Pure: engine events as dockerd's /events lines, compared as text so field order and timeNano's digits count. */
const container: EngineEvent = { type: 'container', action: 'start', actorId: 'c0ffee', attributes: { image: 'busybox', name: 'web' }, timeNano: 1700000000999999999n };

describe('event wire lines', () => {
  it('API < 1.52: status/id/from first, then the message, timeNano exact past 2^53', () => {
    expect(eventLine(container, true)).toBe(
      '{"status":"start","id":"c0ffee","from":"busybox","Type":"container","Action":"start","Actor":{"ID":"c0ffee","Attributes":{"image":"busybox","name":"web"}},"scope":"local","time":1700000000,"timeNano":1700000000999999999}\n',
    );
  });

  it('API 1.52: no legacy fields', () => {
    expect(eventLine(container, false)).toBe(
      '{"Type":"container","Action":"start","Actor":{"ID":"c0ffee","Attributes":{"image":"busybox","name":"web"}},"scope":"local","time":1700000000,"timeNano":1700000000999999999}\n',
    );
  });

  it('a container event without an image attribute has no from; an image event no from either', () => {
    expect(JSON.parse(eventLine({ ...container, attributes: {} }, true))).not.toHaveProperty('from');
    const image: EngineEvent = { type: 'image', action: 'pull', actorId: 'busybox:latest', attributes: { image: 'x', name: 'busybox:latest' }, timeNano: 1n };
    expect(eventLine(image, true)).toBe(
      '{"status":"pull","id":"busybox:latest","Type":"image","Action":"pull","Actor":{"ID":"busybox:latest","Attributes":{"image":"x","name":"busybox:latest"}},"scope":"local","time":0,"timeNano":1}\n',
    );
  });

  it('other types never carry legacy fields, and empty attributes stay {}', () => {
    const volume: EngineEvent = { type: 'volume', action: 'create', actorId: 'data', attributes: {}, timeNano: 2_000_000_000n };
    expect(eventLine(volume, true)).toBe('{"Type":"volume","Action":"create","Actor":{"ID":"data","Attributes":{}},"scope":"local","time":2,"timeNano":2000000000}\n');
  });

  it('eventLines writes one line per event and ends with the stream', async () => {
    async function* two(): AsyncIterable<EngineEvent> {
      yield container;
      yield { ...container, action: 'die' };
    }
    const out: string[] = [];
    for await (const line of eventLines(two(), false)) out.push(line);
    expect(out).toEqual([eventLine(container, false), eventLine({ ...container, action: 'die' }, false)]);
  });
});
