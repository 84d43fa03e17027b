// A machine record is written to Redis twice per report: in current state (its hash) and inside the
// report event on the stream. Both serialise the same object, so its JSON is made once and kept for
// as long as the record object lives (records are never changed after ingest builds them). Pure.
import type { ReportEvent } from '../events/event-bus.ts';
import type { MachineRecord } from './state-store.ts';

const cache = new WeakMap<MachineRecord, string>();

/** JSON.stringify(record), made once per record object. */
export function recordJson(record: MachineRecord): string {
  let json = cache.get(record);
  if (json === undefined) {
    json = JSON.stringify(record);
    cache.set(record, json);
  }
  return json;
}

/** Exactly JSON.stringify(event), reusing the record's JSON. */
export function eventJson(event: ReportEvent): string {
  const { record, receivedAtMs, forgotten, ...rest } = event;
  if (Object.keys(rest).length > 0 || record === null || typeof record !== 'object') return JSON.stringify(event);
  return `{"record":${recordJson(record)},"receivedAtMs":${JSON.stringify(receivedAtMs)}${forgotten === undefined ? '' : `,"forgotten":${JSON.stringify(forgotten)}`}}`;
}
