import { expect } from 'vitest';
import { rawRequest } from './clients.js';

/** Ids of containers (all states) or networks matching a label filter, straight from the engine. */
export async function labelledIds(socket: string, kind: 'containers' | 'networks', label: string): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [label] }));
  const path = kind === 'containers' ? `/containers/json?all=1&filters=${filters}` : `/networks?filters=${filters}`;
  const res = await rawRequest(socket, 'GET', path);
  expect(res.status, res.body).toBe(200);
  return (JSON.parse(res.body) as { Id: string }[]).map((x) => x.Id);
}
