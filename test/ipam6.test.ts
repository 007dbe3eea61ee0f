import { describe, expect, it } from 'vitest';
import { allocate6, checkStatic6, formatCidr6, formatIp6, parseCidr6, parseIp6, pickPool6, subnetConfig6 } from '../slirp/ipam6.js';

describe('IPv6 address management (pure)', () => {
  it('parses and prints addresses the RFC 5952 way', () => {
    for (const [input, printed] of [
      ['fd00::2', 'fd00::2'],
      ['::', '::'],
      ['::1', '::1'],
      ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['fd12:3456:789a:1:0:0:0:1', 'fd12:3456:789a:1::1'],
      ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
    ]) expect(formatIp6(parseIp6(input!))).toBe(printed);
    expect(() => parseIp6('fd00::g')).toThrow('invalid IPv6 address: fd00::g');
    expect(formatCidr6(parseCidr6('fd00:1:2:3::5/64'))).toBe('fd00:1:2:3::/64');
  });

  it('picks stable unique local /64s per engine, skipping used ones', () => {
    const first = pickPool6('engine-a', []);
    expect(formatCidr6(first)).toMatch(/^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/64$/);
    expect(pickPool6('engine-a', [])).toEqual(first);
    expect(formatCidr6(pickPool6('engine-a', [first]))).toBe(formatCidr6(first).replace('::/64', ':1::/64'));
  });

  it('allocates after the gateway and refuses taken or foreign static addresses', () => {
    const cfg = subnetConfig6('fd00:b7::/64');
    expect(formatIp6(cfg.gateway)).toBe('fd00:b7::1');
    expect(formatIp6(allocate6(cfg, new Set([parseIp6('fd00:b7::2')])))).toBe('fd00:b7::3');
    expect(() => checkStatic6(cfg, parseIp6('fd00:b8::5'), new Set(), 'n')).toThrow('no configured subnet or ip-range contain the IP address fd00:b8::5');
    expect(() => checkStatic6(cfg, parseIp6('fd00:b7::1'), new Set(), 'n')).toThrow('Address already in use: fd00:b7::1 on network n');
  });
});
