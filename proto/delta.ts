// The live fleet wire format shared by the hub's /ws, the hub → relay push, the relay's viewers and
// the dashboard. Compact JSON: a snapshot once, then deltas that carry only what changed.
//
//   snapshot  {"t":"s","ts":<ms>,"m":[<machine>...]}
//   delta     {"t":"d","ts":<ms>,"u":[<update>...],"r":[<removed id>...]}
//   machine   {"id","n":name,"h":hostname,"s":status,"l":labels,"i":intervalMs,"seen":<ms>,"v":{<key>:<value>}}
//   update    [id, seenOffsetMs, {<key>:<value>, "s"?:status, "n"?:name, "h"?:host, "l"?:labels, "i"?:intervalMs}]
//
// Metric keys are indexes into LIVE_METRICS ("0" = cpu_percent ...), so an update for one machine whose
// CPU, memory and network moved is about 40 bytes. `seenOffsetMs` = ts - lastSeen (small integer).
// Pure functions only; every decoder validates and rejects anything malformed with an Error.
import type { MetricName, Metrics } from './metrics.ts';
import { MACHINE_STATUSES, type MachineStatus } from './status.ts';

/** Metrics carried live (others stay in the hub's REST API and history). */
export const LIVE_METRICS = [
  'cpu_percent',
  'memory_percent',
  'disk_percent',
  'load_avg_1m',
  'network_recv_bytes_sec',
  'network_sent_bytes_sec',
  'disk_read_bytes_sec',
  'disk_write_bytes_sec',
  'swap_percent',
  'temperature_c',
  'uptime_seconds',
  'load_avg_5m',
  'load_avg_15m',
  'process_count',
] as const satisfies readonly MetricName[];
export type LiveMetric = (typeof LIVE_METRICS)[number];

/** Decimal places kept on the wire; a change smaller than this is not a change. */
const PRECISION: Record<LiveMetric, number> = {
  cpu_percent: 1,
  memory_percent: 1,
  disk_percent: 1,
  load_avg_1m: 2,
  load_avg_5m: 2,
  load_avg_15m: 2,
  network_recv_bytes_sec: 0,
  network_sent_bytes_sec: 0,
  disk_read_bytes_sec: 0,
  disk_write_bytes_sec: 0,
  swap_percent: 1,
  temperature_c: 1,
  uptime_seconds: 0,
  process_count: 0,
};

export const MAX_ID_LENGTH = 128;
export const MAX_NAME_LENGTH = 256;
export const MAX_LABELS = 32;
export const MAX_LABEL_LENGTH = 256;
export const MAX_MACHINES = 20_000;

export interface MachineView {
  id: string;
  name: string;
  host: string;
  status: MachineStatus;
  labels: Record<string, string>;
  intervalMs: number;
  lastSeen: number;
  values: Partial<Record<LiveMetric, number>>;
}

export interface SnapshotMessage {
  t: 's';
  ts: number;
  m: WireMachine[];
}
export interface WireMachine {
  id: string;
  n: string;
  h: string;
  s: MachineStatus;
  l: Record<string, string>;
  i: number;
  seen: number;
  v: Record<string, number>;
}
export type WireChanges = Record<string, number | string | Record<string, string>>;
export type WireUpdate = [id: string, seenOffsetMs: number, changes: WireChanges];
export interface DeltaMessage {
  t: 'd';
  ts: number;
  u: WireUpdate[];
  r?: string[];
}
export type FleetMessage = SnapshotMessage | DeltaMessage;

function roundTo(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Live values of a machine from its headline metrics, rounded to wire precision. */
export function liveValues(metrics: Partial<Metrics>): Partial<Record<LiveMetric, number>> {
  const out: Partial<Record<LiveMetric, number>> = {};
  for (const name of LIVE_METRICS) {
    const v = metrics[name];
    if (typeof v === 'number' && Number.isFinite(v)) out[name] = roundTo(v, PRECISION[name]);
  }
  return out;
}

export function toWireMachine(m: MachineView): WireMachine {
  const v: Record<string, number> = {};
  LIVE_METRICS.forEach((name, index) => {
    const value = m.values[name];
    if (value !== undefined) v[index] = value;
  });
  return { id: m.id, n: m.name, h: m.host, s: m.status, l: m.labels, i: m.intervalMs, seen: m.lastSeen, v };
}

export function encodeSnapshot(machines: Iterable<MachineView>, ts: number): string {
  const m: WireMachine[] = [];
  for (const machine of machines) m.push(toWireMachine(machine));
  return JSON.stringify({ t: 's', ts, m } satisfies SnapshotMessage);
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  return ak.every((k) => a[k] === b[k]);
}

/** The update that turns `prev` (undefined = unknown to the receiver) into `next`; null when nothing changed. */
export function diffMachine(prev: MachineView | undefined, next: MachineView, ts: number): WireUpdate | null {
  const changes: WireChanges = {};
  let changed = prev === undefined || prev.lastSeen !== next.lastSeen;
  LIVE_METRICS.forEach((name, index) => {
    const value = next.values[name];
    if (value !== undefined && value !== prev?.values[name]) {
      changes[index] = value;
      changed = true;
    }
  });
  if (prev?.status !== next.status) changes.s = next.status;
  if (prev?.name !== next.name) changes.n = next.name;
  if (prev?.host !== next.host) changes.h = next.host;
  if (prev?.intervalMs !== next.intervalMs) changes.i = next.intervalMs;
  if (prev === undefined || !sameLabels(prev.labels, next.labels)) changes.l = next.labels;
  if (!changed && Object.keys(changes).length === 0) return null;
  return [next.id, Math.max(0, ts - next.lastSeen), changes];
}

export function encodeDelta(updates: WireUpdate[], removed: string[], ts: number): string {
  const msg: DeltaMessage = { t: 'd', ts, u: updates };
  if (removed.length > 0) msg.r = removed;
  return JSON.stringify(msg);
}

/** Applies a delta to a snapshot map in place. Returns the ids that changed. */
export function applyDelta(fleet: Map<string, MachineView>, delta: DeltaMessage): string[] {
  const touched: string[] = [];
  for (const [id, offset, changes] of delta.u) {
    const prev = fleet.get(id);
    const next: MachineView = prev
      ? { ...prev, values: { ...prev.values }, lastSeen: delta.ts - offset }
      : { id, name: id, host: id, status: 'healthy', labels: {}, intervalMs: 1000, lastSeen: delta.ts - offset, values: {} };
    for (const [key, value] of Object.entries(changes)) {
      if (key === 's') next.status = value as MachineStatus;
      else if (key === 'n') next.name = value as string;
      else if (key === 'h') next.host = value as string;
      else if (key === 'i') next.intervalMs = value as number;
      else if (key === 'l') next.labels = value as Record<string, string>;
      else next.values[LIVE_METRICS[Number(key)]] = value as number;
    }
    fleet.set(id, next);
    touched.push(id);
  }
  for (const id of delta.r ?? []) {
    if (fleet.delete(id)) touched.push(id);
  }
  return touched;
}

export function fromWireMachine(w: WireMachine): MachineView {
  const values: Partial<Record<LiveMetric, number>> = {};
  for (const [key, value] of Object.entries(w.v)) values[LIVE_METRICS[Number(key)]] = value;
  return { id: w.id, name: w.n, host: w.h, status: w.s, labels: w.l, intervalMs: w.i, lastSeen: w.seen, values };
}

// ---- validation of inbound frames -------------------------------------------------------------

const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

function fail(what: string): never {
  throw new Error(`invalid fleet message: ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkFiniteNumber(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${what} must be a finite number`);
  return v;
}

function checkString(v: unknown, max: number, what: string): string {
  if (typeof v !== 'string' || v.length > max) fail(`${what} must be a string of at most ${max} characters`);
  return v;
}

function checkId(v: unknown): string {
  if (typeof v !== 'string' || !ID_PATTERN.test(v)) fail('machine id must match [A-Za-z0-9._-]{1,128}');
  return v;
}

function checkStatus(v: unknown): MachineStatus {
  if (!MACHINE_STATUSES.includes(v as MachineStatus)) fail(`status must be one of ${MACHINE_STATUSES.join(', ')}`);
  return v as MachineStatus;
}

function checkLabels(v: unknown): Record<string, string> {
  if (!isRecord(v)) fail('labels must be an object');
  const entries = Object.entries(v);
  if (entries.length > MAX_LABELS) fail(`at most ${MAX_LABELS} labels`);
  for (const [k, val] of entries) {
    checkString(k, MAX_LABEL_LENGTH, 'label key');
    checkString(val, MAX_LABEL_LENGTH, 'label value');
  }
  return v as Record<string, string>;
}

function checkValues(v: unknown): Record<string, number> {
  if (!isRecord(v)) fail('values must be an object');
  for (const [k, val] of Object.entries(v)) {
    const index = Number(k);
    if (!Number.isInteger(index) || index < 0 || index >= LIVE_METRICS.length) fail(`unknown metric key ${k}`);
    checkFiniteNumber(val, `metric ${k}`);
  }
  return v as Record<string, number>;
}

function checkChanges(v: unknown): WireChanges {
  if (!isRecord(v)) fail('changes must be an object');
  for (const [k, val] of Object.entries(v)) {
    if (k === 's') checkStatus(val);
    else if (k === 'n') checkString(val, MAX_NAME_LENGTH, 'name');
    else if (k === 'h') checkString(val, MAX_NAME_LENGTH, 'host');
    else if (k === 'i') checkFiniteNumber(val, 'interval');
    else if (k === 'l') checkLabels(val);
    else checkValues({ [k]: val });
  }
  return v as WireChanges;
}

/** Parses and validates one frame. Throws on anything that is not a well-formed fleet message. */
export function decodeFleetMessage(raw: string, maxMachines = MAX_MACHINES): FleetMessage {
  let msg: unknown;
  try {
    msg = JSON.parse(raw);
  } catch {
    fail('not JSON');
  }
  if (!isRecord(msg)) fail('not an object');
  const ts = checkFiniteNumber(msg.ts, 'ts');
  if (msg.t === 's') {
    if (!Array.isArray(msg.m)) fail('snapshot.m must be an array');
    if (msg.m.length > maxMachines) fail(`at most ${maxMachines} machines`);
    for (const w of msg.m) {
      if (!isRecord(w)) fail('machine must be an object');
      checkId(w.id);
      checkString(w.n, MAX_NAME_LENGTH, 'name');
      checkString(w.h, MAX_NAME_LENGTH, 'host');
      checkStatus(w.s);
      checkLabels(w.l);
      checkFiniteNumber(w.i, 'interval');
      checkFiniteNumber(w.seen, 'seen');
      checkValues(w.v);
    }
    return { t: 's', ts, m: msg.m as WireMachine[] };
  }
  if (msg.t === 'd') {
    if (!Array.isArray(msg.u)) fail('delta.u must be an array');
    if (msg.u.length > maxMachines) fail(`at most ${maxMachines} updates`);
    for (const u of msg.u) {
      if (!Array.isArray(u) || u.length !== 3) fail('update must be [id, seenOffsetMs, changes]');
      checkId(u[0]);
      checkFiniteNumber(u[1], 'seen offset');
      checkChanges(u[2]);
    }
    const r = msg.r === undefined ? [] : msg.r;
    if (!Array.isArray(r) || r.length > maxMachines) fail('delta.r must be an array of ids');
    r.forEach(checkId);
    const delta: DeltaMessage = { t: 'd', ts, u: msg.u as WireUpdate[] };
    if (r.length > 0) delta.r = r as string[];
    return delta;
  }
  return fail('t must be "s" or "d"');
}
