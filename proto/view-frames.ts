// The frames around the fleet format (proto/delta.ts) that public views add, on both legs:
//
//   hub → relay (one authenticated WebSocket per view: GET <EDGE_URL>?view=<slug>)
//     config    {"t":"c","slug","title","access":"public"|"link","keyHash":<hex sha-256 of the link secret>|null,"metrics":[<LIVE_METRICS index>...]}
//               first frame after every (re)connect, and again when the view changes (a new keyHash = a
//               rotated link: viewers holding the old secret are disconnected)
//     revoke    {"t":"x","slug"}   the view was deleted: the relay forgets it and closes its viewers
//     snapshot  a fleet snapshot, possibly in parts (below); then deltas ({"t":"d"}, each self-contained)
//
//   relay → hub
//     error     {"t":"e","error":<why a frame was refused>,"resync"?:true}   resync asks for a fresh snapshot
//               (encodeRelayError / decodeRelayError; the relay and the coordinator send it, the hub's
//               edge forwarder reads it)
//
//   relay → viewer (after the snapshot, and whenever it changes)
//     hub       {"t":"h","up":bool,"heard":<relay ms of the last hub frame, 0 = never>,"now":<relay ms>}
//     uptime    {"t":"up","slotMs","end":<ms, end of the newest slot>,"m":{<machine id>:<base64 bitmap>}}
//               one bit per slot, newest slot = bit 0 of byte 0; set when the machine was seen in it
//     view      {"t":"v","slug","title","metrics":[<LIVE_METRICS index>...]}
//
//   snapshot parts (both legs, and the hub's own /ws): a snapshot larger than one frame may carry
//   "p":[index, count] and travel as `count` frames with the same ts, in order; the receiver applies it
//   once the last part has arrived. Deltas are never split into parts: a large delta is sent as several
//   complete deltas.
//
// Everything here is pure. Decoders reject anything malformed with an Error naming what is wrong.
import { decodeFleetMessage, LIVE_METRICS, MAX_MACHINES, type SnapshotMessage, type WireMachine } from './delta.ts';
import { MAX_VIEW_TITLE_LENGTH, VIEW_SLUG_PATTERN, type ViewAccess } from './public-view.ts';

export interface ViewConfigFrame {
  t: 'c';
  slug: string;
  title: string;
  access: ViewAccess;
  keyHash: string | null;
  metrics: number[];
}
export interface ViewRevokeFrame {
  t: 'x';
  slug: string;
}
export interface HubStatusFrame {
  t: 'h';
  up: boolean;
  heard: number;
  now: number;
}
export interface UptimeFrame {
  t: 'up';
  slotMs: number;
  end: number;
  m: Record<string, string>;
}
export interface ViewInfoFrame {
  t: 'v';
  slug: string;
  title: string;
  metrics: number[];
}
/** The relay's answer to a hub frame it refused; `resync` asks the hub for a fresh snapshot. */
export interface RelayErrorFrame {
  t: 'e';
  error: string;
  resync?: boolean;
}

/** The frames of this module by leg (the fleet format's own messages are FleetMessage, proto/delta.ts). */
export type HubToRelayFrame = ViewConfigFrame | ViewRevokeFrame;
export type RelayToHubFrame = RelayErrorFrame;
export type RelayToViewerFrame = HubStatusFrame | UptimeFrame | ViewInfoFrame;

/** Most parts one snapshot may come in. */
export const MAX_SNAPSHOT_PARTS = 1_000;
const KEY_HASH_PATTERN = /^[0-9a-f]{64}$/;

function fail(what: string): never {
  throw new Error(`invalid view frame: ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkSlug(v: unknown): string {
  if (typeof v !== 'string' || !VIEW_SLUG_PATTERN.test(v)) fail('slug must match [a-z0-9-]{1,48}');
  return v;
}

function checkMetricIndexes(v: unknown): number[] {
  if (!Array.isArray(v) || v.length > LIVE_METRICS.length) fail(`metrics must be a list of at most ${LIVE_METRICS.length} metric indexes`);
  for (const i of v) {
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= LIVE_METRICS.length) fail(`unknown metric index ${String(i)}`);
  }
  return v as number[];
}

function checkTitle(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_VIEW_TITLE_LENGTH) fail(`title must be 1..${MAX_VIEW_TITLE_LENGTH} characters`);
  return v;
}

function parseObject(raw: string): Record<string, unknown> {
  let msg: unknown;
  try {
    msg = JSON.parse(raw);
  } catch {
    fail('not JSON');
  }
  if (!isRecord(msg)) fail('not an object');
  return msg;
}

/** The frame type of a JSON text without a full parse ("s", "d", "c", ...), or null. Cheap routing. */
export function frameType(raw: string): string | null {
  const match = /^\{\s*"t"\s*:\s*"([a-z]{1,2})"/.exec(raw);
  return match ? match[1] : null;
}

/** Validates a hub → relay control frame (config or revoke). */
export function decodeViewControl(raw: string): HubToRelayFrame {
  const msg = parseObject(raw);
  if (msg.t === 'x') return { t: 'x', slug: checkSlug(msg.slug) };
  if (msg.t !== 'c') fail('t must be "c" or "x"');
  const access = msg.access;
  if (access !== 'public' && access !== 'link') fail('access must be "public" or "link"');
  const keyHash = msg.keyHash ?? null;
  if (access === 'link' && (typeof keyHash !== 'string' || !KEY_HASH_PATTERN.test(keyHash))) fail('a link view needs keyHash: 64 lowercase hex digits');
  if (access === 'public' && keyHash !== null) fail('a public view has keyHash null');
  return { t: 'c', slug: checkSlug(msg.slug), title: checkTitle(msg.title), access, keyHash: keyHash as string | null, metrics: checkMetricIndexes(msg.metrics) };
}

/** Validates a relay → viewer frame that is not part of the fleet format (hub status, uptime, view info). */
export function decodeViewerExtra(raw: string, maxMachines = MAX_MACHINES): RelayToViewerFrame {
  const msg = parseObject(raw);
  const finite = (v: unknown, what: string) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${what} must be a finite number`);
    return v;
  };
  if (msg.t === 'h') {
    if (typeof msg.up !== 'boolean') fail('up must be true or false');
    return { t: 'h', up: msg.up, heard: finite(msg.heard, 'heard'), now: finite(msg.now, 'now') };
  }
  if (msg.t === 'up') {
    const slotMs = finite(msg.slotMs, 'slotMs');
    if (slotMs <= 0) fail('slotMs must be positive');
    if (!isRecord(msg.m)) fail('m must be an object {id: bitmap}');
    const entries = Object.entries(msg.m);
    if (entries.length > maxMachines) fail(`at most ${maxMachines} machines`);
    for (const [id, bits] of entries) {
      if (id.length > 128 || typeof bits !== 'string' || bits.length > 64 || !/^[A-Za-z0-9+/]*={0,2}$/.test(bits)) fail('m values must be short base64 bitmaps');
    }
    return { t: 'up', slotMs, end: finite(msg.end, 'end'), m: msg.m as Record<string, string> };
  }
  if (msg.t === 'v') return { t: 'v', slug: checkSlug(msg.slug), title: checkTitle(msg.title), metrics: checkMetricIndexes(msg.metrics) };
  return fail('t must be "h", "up" or "v"');
}

/** The relay's refusal as sent to the hub; `resync: false` is left out. */
export function encodeRelayError(rejection: { error: string; resync?: boolean }): string {
  const frame: RelayErrorFrame = rejection.resync ? { t: 'e', error: rejection.error, resync: true } : { t: 'e', error: rejection.error };
  return JSON.stringify(frame);
}

/**
 * Reads what a relay answered the hub: its error frame, or null when the text is not one (not JSON,
 * no error text). Lenient on `t`, as the hub has always been: any JSON object with an `error` string.
 */
export function decodeRelayError(raw: string): RelayToHubFrame | null {
  let msg: unknown;
  try {
    msg = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!isRecord(msg) || typeof msg.error !== 'string') return null;
  return msg.resync === true ? { t: 'e', error: msg.error, resync: true } : { t: 'e', error: msg.error };
}

// ---- snapshot parts ---------------------------------------------------------------------------------

/** Splits a snapshot into frames of at most `maxChars` characters each (one frame when it fits). A
 *  single machine larger than `maxChars` still travels, alone in its part. */
export function splitSnapshot(snapshot: SnapshotMessage, maxChars: number): string[] {
  const whole = JSON.stringify(snapshot);
  if (whole.length <= maxChars) return [whole];
  const groups: WireMachine[][] = [];
  let group: WireMachine[] = [];
  let size = 0;
  const overhead = 64; // {"t":"s","ts":…,"m":[…],"p":[…,…]}
  for (const m of snapshot.m) {
    const chars = JSON.stringify(m).length + 1;
    if (group.length > 0 && size + chars + overhead > maxChars) {
      groups.push(group);
      group = [];
      size = 0;
    }
    group.push(m);
    size += chars;
  }
  if (group.length > 0) groups.push(group);
  if (groups.length > MAX_SNAPSHOT_PARTS) throw new Error(`snapshot needs ${groups.length} parts (at most ${MAX_SNAPSHOT_PARTS}); raise the frame size`);
  return groups.map((m, i) => JSON.stringify({ t: 's', ts: snapshot.ts, m, p: [i, groups.length] }));
}

/** The part index and count of a snapshot frame ([0, 1] when it is whole). Throws on a malformed "p". */
export function snapshotPart(msg: Record<string, unknown>): [index: number, count: number] {
  if (msg.p === undefined) return [0, 1];
  const p = msg.p;
  if (!Array.isArray(p) || p.length !== 2) fail('p must be [index, count]');
  const [index, count] = p as unknown[];
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_SNAPSHOT_PARTS) fail(`part count must be 1..${MAX_SNAPSHOT_PARTS}`);
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count) fail('part index must be in 0..count-1');
  return [index, count];
}

/** Collects the parts of a snapshot (validated one by one) and yields the whole snapshot after the last.
 *  Parts must arrive in order with one ts; anything else drops what was collected and throws. */
export interface SnapshotAssembler {
  /** Returns the complete snapshot, or null while parts are missing. */
  add(raw: string): SnapshotMessage | null;
  /** True while a snapshot is half received. */
  readonly pending: boolean;
  reset(): void;
}

export function createSnapshotAssembler(maxMachines = MAX_MACHINES): SnapshotAssembler {
  let collected: WireMachine[] = [];
  let expected = 0;
  let count = 0;
  let ts = 0;
  const reset = () => {
    collected = [];
    expected = 0;
    count = 0;
    ts = 0;
  };
  return {
    add(raw) {
      const msg = parseObject(raw);
      let index: number;
      try {
        [index, count] = [snapshotPart(msg)[0], snapshotPart(msg)[1]];
      } catch (err) {
        reset();
        throw err;
      }
      const part = decodeFleetMessage(raw, maxMachines);
      if (part.t !== 's') {
        reset();
        fail('expected a snapshot part');
      }
      if (index === 0) {
        collected = [];
        ts = part.ts;
      } else if (index !== expected || part.ts !== ts) {
        reset();
        fail(`snapshot part ${index} out of order (expected ${expected} of ts ${ts})`);
      }
      if (collected.length + part.m.length > maxMachines) {
        reset();
        fail(`at most ${maxMachines} machines`);
      }
      for (const m of part.m) collected.push(m);
      expected = index + 1;
      if (expected < count) return null;
      const whole: SnapshotMessage = { t: 's', ts, m: collected };
      reset();
      // Keys and ids must be unique across parts too: validate the whole once more.
      return decodeFleetMessage(JSON.stringify(whole), maxMachines) as SnapshotMessage;
    },
    get pending() {
      return expected > 0;
    },
    reset,
  };
}
