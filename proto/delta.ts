// The live fleet wire format shared by the hub's /ws, the hub → relay push, the relay's viewers and
// the dashboard. Compact JSON: a snapshot once, then deltas that carry only what changed.
//
//   snapshot  {"t":"s","ts":<ms>,"m":[<machine>...]}
//   machine   {"k":key,"id","n":name,"h":hostname,"s":status,"l":labels,"i":intervalMs,"seen":<ms>,"v":{<metric>:<value>}}
//   delta     {"t":"d","ts":<ms>,"a"?:[[key,id]...],"u":[<update>...],"r"?:[key...]}
//   update    [key, seenOffsetMs, <field>, <value>, <field>, <value>, ...]
//
// Each sender numbers the machines it talks about (`k`, a small integer) and says which number is which
// machine once: in the snapshot, or in a delta's `a` (announcements, applied before its updates; a
// later announcement of the same number wins). Updates and removals then use the number, not the id.
// A field is a metric index into LIVE_METRICS (0 = cpu_percent ...) or one of "s" status, "n" name,
// "h" host, "i" interval, "l" labels. `seenOffsetMs` = ts - lastSeen (a small integer). An update for
// a machine whose CPU, memory and network moved is about 40 bytes, whatever the length of its id
// (measured in bench/delta-format.ts; why JSON and not protobuf: docs/delta-format.md).
//
// Encoding is done by a FleetEncoder (it owns the numbering), decoding in two steps: decodeFleetMessage
// validates a frame's structure, a FleetReader resolves the numbers back to ids. Both keep state per
// connection. Everything is pure; decoders reject anything malformed with an Error.
import { isMachineId, MACHINE_ID_RULE } from './machine-id.ts';
import type { MetricName, Metrics } from './metrics.ts';
import { DEFAULT_INTERVAL_MS, MACHINE_STATUSES, type MachineStatus } from './status.ts';

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
/** Machine numbers stay below this; an encoder that would pass it starts over with a new snapshot. */
export const MAX_KEY = 0x3fffffff;

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

/** Changes of one machine: metric indexes ("0" …) and "s" | "n" | "h" | "i" | "l". */
export type WireChanges = Record<string, number | string | Record<string, string>>;
/** One machine's changes, by id: what code works with (the wire carries the machine's number instead). */
export type WireUpdate = [id: string, seenOffsetMs: number, changes: WireChanges];

// ---- the wire shapes (after decodeFleetMessage: validated, numbers not yet resolved) --------------

export interface WireMachine {
  k: number;
  id: string;
  n: string;
  h: string;
  s: MachineStatus;
  l: Record<string, string>;
  i: number;
  seen: number;
  v: Record<string, number>;
}
export interface SnapshotMessage {
  t: 's';
  ts: number;
  m: WireMachine[];
}
/** [key, seenOffsetMs, field, value, field, value, ...] */
export type KeyedUpdate = Array<number | string | Record<string, string>>;
export interface DeltaMessage {
  t: 'd';
  ts: number;
  a?: Array<[key: number, id: string]>;
  u: KeyedUpdate[];
  r?: number[];
}
export type FleetMessage = SnapshotMessage | DeltaMessage;

/** A frame with every number resolved to its machine. */
export type FleetFrame =
  | { t: 's'; ts: number; machines: MachineView[] }
  | { t: 'd'; ts: number; updates: WireUpdate[]; removed: string[] };

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

/** Applies one update to a view (a new machine starts from defaults). */
export function applyUpdate(prev: MachineView | undefined, update: WireUpdate, ts: number): MachineView {
  const [id, offset, changes] = update;
  const next: MachineView = prev
    ? { ...prev, values: { ...prev.values }, lastSeen: ts - offset }
    : { id, name: id, host: id, status: 'healthy', labels: {}, intervalMs: DEFAULT_INTERVAL_MS, lastSeen: ts - offset, values: {} };
  for (const [key, value] of Object.entries(changes)) {
    if (key === 's') next.status = value as MachineStatus;
    else if (key === 'n') next.name = value as string;
    else if (key === 'h') next.host = value as string;
    else if (key === 'i') next.intervalMs = value as number;
    else if (key === 'l') next.labels = value as Record<string, string>;
    else next.values[LIVE_METRICS[Number(key)]] = value as number;
  }
  return next;
}

/** Applies resolved updates and removals to a fleet map in place. Returns the ids that changed. */
export function applyDelta(fleet: Map<string, MachineView>, updates: readonly WireUpdate[], removed: readonly string[], ts: number): string[] {
  const touched: string[] = [];
  for (const update of updates) {
    fleet.set(update[0], applyUpdate(fleet.get(update[0]), update, ts));
    touched.push(update[0]);
  }
  for (const id of removed) {
    if (fleet.delete(id)) touched.push(id);
  }
  return touched;
}

export function fromWireMachine(w: WireMachine): MachineView {
  const values: Partial<Record<LiveMetric, number>> = {};
  for (const [key, value] of Object.entries(w.v)) values[LIVE_METRICS[Number(key)]] = value;
  return { id: w.id, name: w.n, host: w.h, status: w.s, labels: w.l, intervalMs: w.i, lastSeen: w.seen, values };
}

function toWireMachine(m: MachineView, k: number): WireMachine {
  const v: Record<string, number> = {};
  LIVE_METRICS.forEach((name, index) => {
    const value = m.values[name];
    if (value !== undefined) v[index] = roundTo(value, PRECISION[name]);
  });
  return { k, id: m.id, n: m.name, h: m.host, s: m.status, l: m.labels, i: m.intervalMs, seen: m.lastSeen, v };
}

// ---- encoding ------------------------------------------------------------------------------------

export interface FleetEncoder {
  /** A snapshot of `machines`. Numbers already given keep their meaning, so a receiver that joins late
   *  (a new viewer) and receivers that were there before can share every following delta. */
  snapshot(machines: Iterable<MachineView>, ts: number): string;
  /** A delta; numbers given since the previous delta (by it or by snapshots) are announced in it. */
  delta(updates: readonly WireUpdate[], removed: readonly string[], ts: number): string;
  /** Forgets every number and starts over with a snapshot for a single receiver that starts over too
   *  (a new connection of the only receiver): its numbers need no announcement. */
  restart(machines: Iterable<MachineView>, ts: number): string;
  /** Forgets every number (no receiver is left). */
  reset(): void;
  /** Machines that currently have a number. */
  readonly size: number;
}

export function createFleetEncoder(): FleetEncoder {
  let keys = new Map<string, number>();
  let unannounced = new Map<string, number>();
  let nextKey = 0;

  const keyOf = (id: string): number => {
    let k = keys.get(id);
    if (k === undefined) {
      k = nextKey++;
      keys.set(id, k);
      unannounced.set(id, k);
    }
    return k;
  };
  const reset = () => {
    keys = new Map();
    unannounced = new Map();
    nextKey = 0;
  };

  const snapshot = (machines: Iterable<MachineView>, ts: number) => {
    const m: WireMachine[] = [];
    for (const machine of machines) m.push(toWireMachine(machine, keyOf(machine.id)));
    return JSON.stringify({ t: 's', ts, m } satisfies SnapshotMessage);
  };

  return {
    snapshot,
    restart(machines, ts) {
      reset();
      const text = snapshot(machines, ts);
      unannounced = new Map();
      return text;
    },
    delta(updates, removed, ts) {
      const u: KeyedUpdate[] = [];
      for (const [id, offset, changes] of updates) {
        const update: KeyedUpdate = [keyOf(id), offset];
        for (const [field, value] of Object.entries(changes)) {
          const index = Number(field);
          update.push(Number.isInteger(index) ? index : field, value);
        }
        u.push(update);
      }
      const r: number[] = [];
      for (const id of removed) {
        const k = keys.get(id);
        if (k === undefined) continue;
        keys.delete(id);
        unannounced.delete(id);
        r.push(k);
      }
      const msg: DeltaMessage = { t: 'd', ts, u };
      if (unannounced.size > 0) {
        msg.a = [...unannounced].map(([id, k]) => [k, id]);
        unannounced = new Map();
      }
      if (r.length > 0) msg.r = r;
      return JSON.stringify(msg);
    },
    reset,
    get size() {
      return keys.size;
    },
  };
}

// ---- resolving numbers -----------------------------------------------------------------------------

/** Thrown by FleetReader.read for a delta that uses a number it was never told about: the receiver is
 *  out of step with the sender (it restarted, or missed a frame) and needs a fresh snapshot. */
export class FleetResyncError extends Error {
  override name = 'FleetResyncError';
}

export interface FleetReader {
  /** Resolves a validated frame; throws FleetResyncError (and changes nothing) on an unknown number. */
  read(msg: FleetMessage): FleetFrame;
  /** Forgets every number (the next frame must be a snapshot). */
  reset(): void;
}

export function createFleetReader(): FleetReader {
  let ids = new Map<number, string>();
  return {
    read(msg) {
      if (msg.t === 's') {
        const next = new Map<number, string>();
        for (const w of msg.m) next.set(w.k, w.id);
        ids = next;
        return { t: 's', ts: msg.ts, machines: msg.m.map(fromWireMachine) };
      }
      const known = (k: number, pending: Map<number, string>) => pending.get(k) ?? ids.get(k);
      const pending = new Map<number, string>(msg.a ?? []);
      for (const u of msg.u) {
        if (known(u[0] as number, pending) === undefined) throw new FleetResyncError(`invalid fleet message: unknown machine number ${u[0]}; a new snapshot is needed`);
      }
      for (const [k, id] of pending) ids.set(k, id);
      const updates: WireUpdate[] = msg.u.map((u) => {
        const changes: WireChanges = {};
        for (let i = 2; i < u.length; i += 2) changes[u[i] as string | number] = u[i + 1];
        return [ids.get(u[0] as number)!, u[1] as number, changes];
      });
      const removed: string[] = [];
      for (const k of msg.r ?? []) {
        const id = ids.get(k);
        if (id === undefined) continue; // never told about it: nothing to remove
        ids.delete(k);
        removed.push(id);
      }
      return { t: 'd', ts: msg.ts, updates, removed };
    },
    reset() {
      ids = new Map();
    },
  };
}

// ---- validation of inbound frames -------------------------------------------------------------

const OTHER_FIELDS = new Set(['s', 'n', 'h', 'i', 'l']);

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

function checkKey(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_KEY) fail(`machine number must be an integer in 0..${MAX_KEY}`);
  return v;
}

function checkString(v: unknown, max: number, what: string): string {
  if (typeof v !== 'string' || v.length > max) fail(`${what} must be a string of at most ${max} characters`);
  return v;
}

function checkId(v: unknown): string {
  if (!isMachineId(v)) fail(`machine id ${MACHINE_ID_RULE}`);
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

function checkMetricIndex(k: unknown): void {
  const index = typeof k === 'number' ? k : Number(k);
  if (!Number.isInteger(index) || index < 0 || index >= LIVE_METRICS.length) fail(`unknown metric key ${String(k)}`);
}

function checkValues(v: unknown): Record<string, number> {
  if (!isRecord(v)) fail('values must be an object');
  for (const [k, val] of Object.entries(v)) {
    checkMetricIndex(k);
    checkFiniteNumber(val, `metric ${k}`);
  }
  return v as Record<string, number>;
}

function checkField(field: unknown, value: unknown): void {
  if (field === 's') checkStatus(value);
  else if (field === 'n') checkString(value, MAX_NAME_LENGTH, 'name');
  else if (field === 'h') checkString(value, MAX_NAME_LENGTH, 'host');
  else if (field === 'i') checkFiniteNumber(value, 'interval');
  else if (field === 'l') checkLabels(value);
  else if (typeof field === 'number') {
    checkMetricIndex(field);
    checkFiniteNumber(value, `metric ${field}`);
  } else fail(`unknown field ${JSON.stringify(field)?.slice(0, 20)} (one of a metric index, ${[...OTHER_FIELDS].join(', ')})`);
}

/** Parses and validates one frame's structure. Throws on anything that is not a well-formed fleet message. */
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
    const seenKeys = new Set<number>();
    const seenIds = new Set<string>();
    for (const w of msg.m) {
      if (!isRecord(w)) fail('machine must be an object');
      const k = checkKey(w.k);
      const id = checkId(w.id);
      if (seenKeys.has(k) || seenIds.has(id)) fail(`machine ${id} (number ${k}) appears twice`);
      seenKeys.add(k);
      seenIds.add(id);
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
    const a = msg.a === undefined ? [] : msg.a;
    if (!Array.isArray(a) || a.length > maxMachines) fail(`delta.a must be an array of at most ${maxMachines} [number, id] pairs`);
    for (const pair of a) {
      if (!Array.isArray(pair) || pair.length !== 2) fail('announcement must be [number, id]');
      checkKey(pair[0]);
      checkId(pair[1]);
    }
    if (!Array.isArray(msg.u)) fail('delta.u must be an array');
    if (msg.u.length > maxMachines) fail(`at most ${maxMachines} updates`);
    for (const u of msg.u) {
      if (!Array.isArray(u) || u.length < 2 || u.length % 2 !== 0) fail('update must be [number, seenOffsetMs, field, value, ...]');
      checkKey(u[0]);
      checkFiniteNumber(u[1], 'seen offset');
      for (let i = 2; i < u.length; i += 2) checkField(u[i], u[i + 1]);
    }
    const r = msg.r === undefined ? [] : msg.r;
    if (!Array.isArray(r) || r.length > maxMachines) fail('delta.r must be an array of machine numbers');
    r.forEach(checkKey);
    const delta: DeltaMessage = { t: 'd', ts, u: msg.u as KeyedUpdate[] };
    if (a.length > 0) delta.a = a as Array<[number, string]>;
    if (r.length > 0) delta.r = r as number[];
    return delta;
  }
  return fail('t must be "s" or "d"');
}
