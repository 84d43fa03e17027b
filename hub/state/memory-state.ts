// In-process current state, used when REDIS_URL is not set (the embedded default) and in tests.
import { createRecentRing, type RecentRing } from './recent-ring.ts';
import { RECENT_RING_SIZE, type MachineRecord, type StateStore } from './state-store.ts';

export function createMemoryState(ringSize = RECENT_RING_SIZE): StateStore {
  const records = new Map<string, MachineRecord>();
  const reports = new Map<string, Uint8Array>();
  const rings = new Map<string, RecentRing>();
  const put = (record: MachineRecord, report: Uint8Array) => {
    records.set(record.id, record);
    reports.set(record.id, report);
    let ring = rings.get(record.id);
    if (!ring) rings.set(record.id, (ring = createRecentRing(ringSize)));
    ring.push({ t: record.sampledAtMs, metrics: record.metrics });
  };
  return {
    kind: 'memory',
    async put(record, report) {
      put(record, report);
    },
    async putMany(items) {
      for (const { record, report } of items) put(record, report);
    },
    async get(id) {
      return records.get(id);
    },
    async list() {
      return [...records.values()];
    },
    async count() {
      return records.size;
    },
    async latestReport(id) {
      return reports.get(id);
    },
    async recent(id, limit = ringSize) {
      return rings.get(id)?.last(limit) ?? [];
    },
    async forget(id) {
      const known = records.delete(id);
      reports.delete(id);
      rings.delete(id);
      return known;
    },
    async ping() {
      return true;
    },
    async close() {},
  };
}
