import { describe, expect, it } from 'vitest';
import {
  cpuacctStatNs,
  cpuFromV2,
  cpuPercent,
  effectiveMemoryLimit,
  emptyStatsJson,
  parseBlkioV1,
  parseIoStatV2,
  parseKeyValues,
  parseLimit,
  parseNetDev,
  statsJson,
  statsLines,
  statsReadingJson,
  systemCpuNs,
  type StatsReading,
  type StatsSample,
} from '../translate/container-stats.js';
import { parsePsOutput } from '../rootless/containers/processes.js';
import { mergeUpdate, type UpdatableHostConfig } from '../translate/resource-update.js';
import { EngineError } from '../translate/errors.js';

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     120       2    0    0    0     0          0         0      120       2    0    0    0     0       0          0
  eth0:    5000      40    1    2    0     0          0         0     3000      30    3    4    0     0       0          0
`;

function sample(over: Partial<StatsSample> = {}): StatsSample {
  return {
    read: new Date('2024-01-01T00:00:01Z'),
    cpu: { total: 2_000_000_000, percpu: [1_500_000_000, 500_000_000], kernel: 100, user: 200, throttling: { periods: 10, throttledPeriods: 3, throttledTime: 99 } },
    systemCpuUsage: 20_000_000_000,
    onlineCpus: 2,
    memory: { usage: 10_000_000, maxUsage: 12_000_000, failcnt: 0, limit: 33_554_432, stats: { total_inactive_file: 1000, cache: 5 } },
    pids: { current: 3, limit: 20 },
    blkio: { serviceBytes: [{ major: 8, minor: 0, op: 'Read', value: 4096 }], serviced: [] },
    networks: parseNetDev(NET_DEV),
    ...over,
  };
}

describe('cgroup file parsing', () => {
  it('reads v1 unlimited and v2 max as no limit, numbers as numbers', () => {
    expect(parseLimit('9223372036854771712\n')).toBeUndefined();
    expect(parseLimit('max\n')).toBeUndefined();
    expect(parseLimit('33554432\n')).toBe(33554432);
    expect(effectiveMemoryLimit(undefined, 1000)).toBe(1000);
    expect(effectiveMemoryLimit(2000, 1000)).toBe(1000);
    expect(effectiveMemoryLimit(500, 1000)).toBe(500);
  });

  it('turns /proc/stat and cpuacct ticks into ns', () => {
    expect(systemCpuNs('cpu  10 0 5 100 1 0 0 7 0 0\ncpu0 5 0 2 50 0 0 0 0 0 0\n')).toBe(116 * 10_000_000);
    expect(cpuacctStatNs('user 30\nsystem 7\n')).toEqual({ user: 300_000_000, kernel: 70_000_000 });
    expect(cpuFromV2('usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 2\nthrottled_usec 30\n')).toEqual({
      total: 1_500_000, user: 1_000_000, kernel: 500_000, throttling: { periods: 4, throttledPeriods: 2, throttledTime: 30_000 },
    });
    expect(parseKeyValues('cache 5\nrss 7\nbogus\n')).toEqual({ cache: 5, rss: 7 });
  });

  it('parses blkio (v1 drops Total) and io.stat (v2)', () => {
    expect(parseBlkioV1('8:0 Read 4096\n8:0 Write 0\nTotal 4096\n')).toEqual([
      { major: 8, minor: 0, op: 'Read', value: 4096 },
      { major: 8, minor: 0, op: 'Write', value: 0 },
    ]);
    const v2 = parseIoStatV2('254:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n');
    expect(v2.serviceBytes).toEqual([{ major: 254, minor: 0, op: 'read', value: 10 }, { major: 254, minor: 0, op: 'write', value: 20 }]);
    expect(v2.serviced[1]).toEqual({ major: 254, minor: 0, op: 'write', value: 2 });
  });

  it('lists network interfaces without loopback', () => {
    expect(parseNetDev(NET_DEV)).toEqual({
      eth0: { rx_bytes: 5000, rx_packets: 40, rx_errors: 1, rx_dropped: 2, tx_bytes: 3000, tx_packets: 30, tx_errors: 3, tx_dropped: 4 },
    });
  });
});

describe('stats JSON', () => {
  it("has dockerd's shape, precpu from the previous sample", () => {
    const prev = sample({ read: new Date('2024-01-01T00:00:00Z'), cpu: { ...sample().cpu, total: 1_000_000_000 }, systemCpuUsage: 18_000_000_000 });
    const j = statsJson({ id: 'abc', name: '/c' }, sample(), prev) as Record<string, Record<string, unknown>>;
    expect(j.read).toBe('2024-01-01T00:00:01.000Z');
    expect(j.preread).toBe('2024-01-01T00:00:00.000Z');
    expect(j.cpu_stats).toEqual({
      cpu_usage: { total_usage: 2_000_000_000, percpu_usage: [1_500_000_000, 500_000_000], usage_in_kernelmode: 100, usage_in_usermode: 200 },
      system_cpu_usage: 20_000_000_000,
      online_cpus: 2,
      throttling_data: { periods: 10, throttled_periods: 3, throttled_time: 99 },
    });
    expect((j.precpu_stats.cpu_usage as Record<string, number>).total_usage).toBe(1_000_000_000);
    expect(j.memory_stats).toEqual({ usage: 10_000_000, max_usage: 12_000_000, stats: { total_inactive_file: 1000, cache: 5 }, failcnt: 0, limit: 33_554_432 });
    expect(j.pids_stats).toEqual({ current: 3, limit: 20 });
    expect(Object.keys(j.networks ?? {})).toEqual(['eth0']);
    expect(j).toMatchObject({ name: '/c', id: 'abc', num_procs: 0, storage_stats: {} });
    // What `docker stats` computes: 1 s of CPU over 2 s of host time on 2 CPUs = 100 %.
    expect(cpuPercent(sample(), prev)).toBeCloseTo(100);
  });

  it('zeros precpu without a previous sample and for stopped containers', () => {
    const j = statsJson({ id: 'abc', name: '/c' }, sample({ networks: {} })) as Record<string, unknown>;
    expect(j.preread).toBe('0001-01-01T00:00:00Z');
    expect(j.precpu_stats).toEqual({ cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } });
    expect(j.networks).toBeUndefined();
    expect(emptyStatsJson({ id: 'abc', name: '/c' })).toMatchObject({ read: '0001-01-01T00:00:00Z', memory_stats: {}, name: '/c' });
  });
  it('a reading: no sample is the stopped document, a sample alone has zero precpu, with its previous one it fills precpu', () => {
    const who = { id: 'abc', name: '/c' };
    const prev = sample({ read: new Date('2024-01-01T00:00:00Z') });
    expect(JSON.stringify(statsReadingJson(who))).toBe(JSON.stringify(emptyStatsJson(who)));
    expect(JSON.stringify(statsReadingJson({ ...who, sample: sample() }))).toBe(JSON.stringify(statsJson(who, sample())));
    expect(JSON.stringify(statsReadingJson({ ...who, sample: sample(), previous: prev }))).toBe(JSON.stringify(statsJson(who, sample(), prev)));
    // The stopped document's exact text: nulls for blkio, empty maps for pids and memory.
    expect(JSON.stringify(statsReadingJson(who))).toBe(
      '{"read":"0001-01-01T00:00:00Z","preread":"0001-01-01T00:00:00Z","pids_stats":{},"blkio_stats":{"io_service_bytes_recursive":null,"io_serviced_recursive":null,"io_queue_recursive":null,"io_service_time_recursive":null,"io_wait_time_recursive":null,"io_merged_recursive":null,"io_time_recursive":null,"sectors_recursive":null},"num_procs":0,"storage_stats":{},"cpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"precpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"memory_stats":{},"name":"/c","id":"abc"}',
    );
  });

  it('statsLines writes one newline-terminated document per reading', async () => {
    async function* readings(): AsyncIterable<StatsReading> {
      yield { id: 'abc', name: '/c', sample: sample() };
      yield { id: 'abc', name: '/c' };
    }
    const out: string[] = [];
    for await (const line of statsLines(readings())) out.push(line);
    expect(out).toEqual([JSON.stringify(statsJson({ id: 'abc', name: '/c' }, sample())) + '\n', JSON.stringify(emptyStatsJson({ id: 'abc', name: '/c' })) + '\n']);
  });
});

describe('top', () => {
  it('keeps only the container pids and the spaces of the last column', () => {
    const out = 'UID PID PPID C STIME TTY TIME CMD\nroot 10 1 0 10:00 ? 00:00:00 sh -c sleep 100\nroot 11 10 0 10:00 ? 00:00:00 sleep 100\nbob 99 1 0 10:00 ? 00:00:00 other\n';
    expect(parsePsOutput(out, new Set([10, 11]))).toEqual({
      titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
      processes: [
        ['root', '10', '1', '0', '10:00', '?', '00:00:00', 'sh -c sleep 100'],
        ['root', '11', '10', '0', '10:00', '?', '00:00:00', 'sleep 100'],
      ],
    });
    expect(() => parsePsOutput('USER COMMAND\n', new Set())).toThrow(/PID field/);
  });
});

describe('update merge', () => {
  it('keeps unset fields, keeps the swap in force and replaces the restart policy', () => {
    const m = mergeUpdate({ Memory: 32 << 20, CpuShares: 512 }, { Memory: 64 << 20, PidsLimit: -1, RestartPolicy: { Name: 'always' } });
    expect(m.hostConfig).toMatchObject({ Memory: 64 << 20, MemorySwap: 64 << 20, CpuShares: 512, PidsLimit: -1, RestartPolicy: { Name: 'always' } });
    expect(m.pidsUnlimited).toBe(true);
    expect(mergeUpdate<UpdatableHostConfig>({}, { Memory: 64 << 20 }).hostConfig.MemorySwap).toBeUndefined();
  });

  it("refuses what dockerd refuses", () => {
    expect(() => mergeUpdate({ Memory: 32 << 20, MemorySwap: 40 << 20 }, { Memory: 64 << 20 })).toThrow(/memoryswap/);
    expect(() => mergeUpdate({ NanoCpus: 5e8 }, { CpuQuota: 50000 })).toThrow(EngineError);
    expect(() => mergeUpdate({ AutoRemove: true }, { RestartPolicy: { Name: 'always' } })).toThrow(/AutoRemove/);
  });
});
