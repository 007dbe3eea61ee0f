import { describe, expect, it } from 'vitest';
import { checkApiVersion, splitVersionPrefix, versionAtLeast } from '../translate/api-version.js';

describe('API version prefixes', () => {
  it('splits /vX.Y from the path and keeps the query', () => {
    expect(splitVersionPrefix('/v1.41/containers/json?all=1', '1.50')).toEqual({ version: '1.41', path: '/containers/json?all=1' });
    expect(splitVersionPrefix('/v1.50?x=1', '1.50')).toEqual({ version: '1.50', path: '/?x=1' });
    expect(splitVersionPrefix('/_ping', '1.50')).toEqual({ version: '1.50', path: '/_ping' });
    expect(splitVersionPrefix('/volumes/v1.2', '1.50')).toEqual({ version: '1.50', path: '/volumes/v1.2' });
  });

  it('compares versions numerically, not as strings', () => {
    expect(checkApiVersion('1.9', '1.24', '1.50')?.message).toMatch(/too old/);
    expect(checkApiVersion('1.100', '1.24', '1.50')?.message).toMatch(/too new/);
    expect(checkApiVersion('1.24', '1.24', '1.50')).toBeUndefined();
    expect(checkApiVersion('1.50', '1.24', '1.50')).toBeUndefined();
    expect(checkApiVersion('2.0', '1.24', '1.50')?.statusCode).toBe(400);
    expect(versionAtLeast('1.42', '1.42')).toBe(true);
    expect(versionAtLeast('1.9', '1.42')).toBe(false);
  });
});
