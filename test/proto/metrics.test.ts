// Which interfaces count toward a machine's network totals: physical NICs do; loopback, container
// plumbing, traffic shaping and tunnels (whose bytes also cross a physical NIC) do not. And alert
// values with their unit, as notifications and the dashboard show them.
import { create } from '@bufbuild/protobuf';
import { describe, expect, test } from 'vitest';
import { ReportSchema } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import { formatAlertValue } from '../../proto/alert-metrics.ts';
import { isPhysicalInterface, summarize } from '../../proto/metrics.ts';

describe('isPhysicalInterface', () => {
  test.each([
    ['eth0', true],
    ['enp3s0', true],
    ['wlan0', true],
    ['eno1', true],
    ['bond0', true],
    ['lo', false],
    ['veth12ab', false],
    ['docker0', false],
    ['br-1a2b', false],
    ['virbr0', false],
    ['ifb0', false],
    ['ifb4eth0', false],
    ['tun0', false],
    ['tap0', false],
    ['wg0', false],
  ])('%s → %s', (name, physical) => expect(isPhysicalInterface(name)).toBe(physical));

  test('network totals add only physical interfaces', () => {
    const report = create(ReportSchema, {
      network: [
        { name: 'eth0', recvBytesPerSec: 1000, sentBytesPerSec: 100 },
        { name: 'ifb0', recvBytesPerSec: 1000, sentBytesPerSec: 100 },
        { name: 'tun0', recvBytesPerSec: 500, sentBytesPerSec: 50 },
        { name: 'wg0', recvBytesPerSec: 500, sentBytesPerSec: 50 },
        { name: 'wlan0', recvBytesPerSec: 10, sentBytesPerSec: 1 },
      ],
    });
    const m = summarize(report);
    expect([m.network_recv_bytes_sec, m.network_sent_bytes_sec]).toEqual([1010, 101]);
  });
});

describe('formatAlertValue', () => {
  test.each([
    ['cpu_percent', 75.63, '75.6 %'],
    ['disk_percent', 90, '90.0 %'],
    ['temperature_c', 61.96, '62.0 °C'],
    ['network_recv_bytes_sec', 1234567, '1.2 MB/s'],
    ['network_sent_bytes_sec', 512, '512 B/s'],
    ['load_avg_1m', 1.5349, '1.53'],
    ['offline', 75.4, 'silent for 75 s'],
    ['cpu_percent', null, 'no value'],
    ['cpu_percent', Number.NaN, 'no value'],
  ] as const)('%s %s → %s', (metric, value, text) => expect(formatAlertValue(metric, value)).toBe(text));
});
