// The relay's picture of the fleet, as pure state (no Workers APIs, no clock): it merges the hub's
// snapshot and delta frames, produces the one broadcast text every viewer receives, the snapshot a new
// viewer starts from, the offline sweep, and the checkpoint that survives a restart.
//
// The hub is the source of truth for each machine (`hubFleet`). The relay adds one thing of its own:
// when it has heard nothing about a machine for offlineAfterMs(its interval) — the hub's own rule,
// proto/status.ts — or for a fixed `offlineAfterMs` when one is configured (the hub died or lost the
// edge), it shows that machine as offline until the hub speaks about it again. Clocks: `receivedAtMs` is the
// relay's clock; `ts`/`lastSeen` inside frames are the hub's and are only ever passed through.
import {
  applyDelta,
  type FleetMessage,
  type SnapshotMessage,
  createFleetEncoder,
  createFleetReader,
  decodeFleetMessage,
  diffMachine,
  type MachineView,
  type WireUpdate,
} from '../proto/delta.ts';
import { offlineAfterMs } from '../proto/status.ts';
import { splitSnapshot } from '../proto/view-frames.ts';
import { RecentRings, type RecentPoint } from './recent-rings.ts';
import { UptimeBitmaps, UPTIME_SLOT_MS } from './uptime-bitmaps.ts';

export interface FleetPictureOptions {
  readonly maxMachines: number;
  /** A fixed silence before a machine is shown offline (OFFLINE_AFTER_MS); unset or null: per machine,
   *  offlineAfterMs(the interval the hub sends for it). */
  readonly offlineAfterMs?: number | null;
  /** Points of recent values kept per machine for new viewers' charts (0 = none). */
  readonly recentPoints?: number;
  /** Largest frame sent to viewers, in characters: a larger snapshot goes in parts, a larger delta as
   *  several complete deltas (default: no limit). */
  readonly maxViewerFrameChars?: number;
  /** Length of an uptime slot (default 15 minutes; shorter only in tests). */
  readonly uptimeSlotMs?: number;
  /** Bytes (characters) of deltas a viewer gets per second at most, on average (0 = no limit: one frame
   *  per hub frame). Over it, the hub's deltas are merged (each machine's latest values, one frame)
   *  until the allowance, counted in the hub's own time (`ts`), covers the merged frame; every shard
   *  of a view thus decides alike. A merged delta waits at most `maxHoldMs` of hub time. */
  readonly viewerCharsPerSecond?: number;
  readonly maxHoldMs?: number;
}

export interface IngestOutcome {
  kind: 'snapshot' | 'delta';
  /** The frames to send to every viewer, in order; empty when nothing visible changed. */
  frames: string[];
  machines: number;
  /** Whether an uptime bit was set by this frame (the viewers' `up` frame is then out of date). */
  uptimeChanged: boolean;
}

export class FleetPicture {
  private readonly options: FleetPictureOptions;
  private readonly hubFleet = new Map<string, MachineView>();
  private readonly receivedAtMs = new Map<string, number>();
  /** Machines the relay itself marked offline because it heard nothing about them. */
  private readonly silent = new Set<string>();
  private lastHubTs = 0;
  private snapshotCache: string | null = null;
  private snapshotFramesCache: string[] | null = null;
  private readonly recent: RecentRings;
  /** Per machine: seen or not in each 15-minute slot of the last 24 h. */
  readonly uptime: UptimeBitmaps;
  private readonly maxFrameChars: number;
  /** Resolves the hub's machine numbers; empty after a restart until the hub sends a snapshot. */
  private readonly hubReader = createFleetReader();
  /** This relay's own numbering of machines for its viewers. */
  private readonly encoder = createFleetEncoder();
  /** Deltas held back by the byte allowance, merged per machine; removals; hub ts of the first held. */
  private readonly pending = new Map<string, WireUpdate>();
  private readonly pendingRemoved = new Set<string>();
  private pendingSinceTs: number | null = null;
  private pendingChars = 0;
  /** Characters viewers may still be sent (hub time); refilled at viewerCharsPerSecond. */
  private allowance = 0;
  private allowanceTs: number | null = null;
  /** Hub deltas merged into a later frame instead of sent on their own (for the bench and stats). */
  coalesced = 0;

  constructor(options: FleetPictureOptions) {
    if (!(options.maxMachines >= 1)) throw new Error(`maxMachines must be at least 1 (got ${options.maxMachines})`);
    if (options.offlineAfterMs != null && !(options.offlineAfterMs > 0)) throw new Error(`offlineAfterMs must be positive (got ${options.offlineAfterMs})`);
    this.options = options;
    this.recent = new RecentRings(options.recentPoints ?? 0);
    this.uptime = new UptimeBitmaps(options.uptimeSlotMs ?? UPTIME_SLOT_MS);
    this.maxFrameChars = options.maxViewerFrameChars ?? Number.POSITIVE_INFINITY;
  }

  get size(): number {
    return this.hubFleet.size;
  }

  /** Validates and merges one frame from the hub. Throws (and changes nothing) when it is malformed or
   *  over the caps; throws FleetResyncError when it uses machine numbers this relay was never told about. */
  ingest(raw: string, nowMs: number): IngestOutcome {
    return this.ingestMessage(decodeFleetMessage(raw, this.options.maxMachines), nowMs);
  }

  /** The same for a frame already validated (a snapshot put together from its parts). */
  ingestMessage(msg: FleetMessage, nowMs: number): IngestOutcome {
    if (msg.t === 's' && msg.m.length > this.options.maxMachines) throw new Error(`invalid fleet message: more than ${this.options.maxMachines} machines`);
    const frame = this.hubReader.read(msg);
    let uptimeChanged = false;
    if (frame.t === 's') {
      const next = new Map<string, MachineView>();
      for (const m of frame.machines) next.set(m.id, m);
      const updates: WireUpdate[] = [];
      const removed: string[] = [];
      for (const [id, machine] of next) {
        const shown = this.viewOf(id);
        this.silent.delete(id);
        const update = diffMachine(shown, machine, frame.ts);
        if (update) updates.push(update);
        this.receivedAtMs.set(id, nowMs);
      }
      for (const id of this.hubFleet.keys()) {
        if (!next.has(id)) {
          removed.push(id);
          this.receivedAtMs.delete(id);
          this.silent.delete(id);
        }
      }
      this.hubFleet.clear();
      for (const [id, machine] of next) {
        this.hubFleet.set(id, machine);
        this.recent.record(machine);
        if (machine.status !== 'offline') uptimeChanged = this.uptime.mark(id, nowMs) || uptimeChanged;
      }
      for (const id of removed) this.recent.delete(id);
      this.uptime.retain(new Set(next.keys()));
      uptimeChanged ||= removed.length > 0;
      this.lastHubTs = frame.ts;
      this.invalidate();
      return { kind: 'snapshot', frames: this.queue(updates, removed, frame.ts), machines: this.hubFleet.size, uptimeChanged };
    }

    let added = 0;
    for (const [id] of frame.updates) if (!this.hubFleet.has(id)) added++;
    if (this.hubFleet.size + added > this.options.maxMachines) {
      throw new Error(`invalid fleet message: more than ${this.options.maxMachines} machines`);
    }
    applyDelta(this.hubFleet, frame.updates, frame.removed, frame.ts);
    const updates: WireUpdate[] = frame.updates.map(([id, offset, changes]) => {
      this.receivedAtMs.set(id, nowMs);
      this.recent.record(this.hubFleet.get(id)!);
      if (this.hubFleet.get(id)!.status !== 'offline') uptimeChanged = this.uptime.mark(id, nowMs) || uptimeChanged;
      // A machine the relay had shown offline gets the hub's status back with its next update.
      if (this.silent.delete(id) && changes.s === undefined) return [id, offset, { ...changes, s: this.hubFleet.get(id)!.status }];
      return [id, offset, changes];
    });
    for (const id of frame.removed) {
      this.receivedAtMs.delete(id);
      this.silent.delete(id);
      this.recent.delete(id);
      this.uptime.delete(id);
      uptimeChanged = true;
    }
    this.lastHubTs = frame.ts;
    this.invalidate();
    return { kind: 'delta', frames: this.queue(updates, frame.removed, frame.ts), machines: this.hubFleet.size, uptimeChanged };
  }

  /** The frames for viewers now: at once without a byte allowance; else merged into what is held back
   *  and sent when the allowance covers it (or it has waited maxHoldMs). */
  private queue(updates: readonly WireUpdate[], removed: readonly string[], ts: number): string[] {
    const rate = this.options.viewerCharsPerSecond ?? 0;
    if (rate <= 0) return this.encodeDeltas(updates, removed, ts);
    if (updates.length === 0 && removed.length === 0 && this.pending.size === 0 && this.pendingRemoved.size === 0) return [];
    for (const u of updates) {
      const held = this.pending.get(u[0]);
      if (held !== undefined) this.pendingChars -= estimateChars(held);
      const merged: WireUpdate = held === undefined ? u : [u[0], u[1], { ...held[2], ...u[2] }];
      this.pending.set(u[0], merged);
      this.pendingChars += estimateChars(merged);
    }
    for (const id of removed) {
      const held = this.pending.get(id);
      if (held !== undefined) this.pendingChars -= estimateChars(held);
      this.pending.delete(id);
      this.pendingRemoved.add(id);
      this.pendingChars += 8;
    }
    this.pendingSinceTs ??= ts;
    // The allowance grows with hub time; while nothing is held it keeps at most one second's worth.
    if (this.allowanceTs === null) this.allowance = rate;
    else this.allowance += (rate * Math.max(0, ts - this.allowanceTs)) / 1000;
    this.allowanceTs = ts;
    const waited = ts - this.pendingSinceTs;
    if (this.allowance < this.pendingChars && waited < (this.options.maxHoldMs ?? 5000)) {
      this.coalesced++;
      return [];
    }
    return this.flushPending(ts);
  }

  /** Sends what is held back now (the alarm, before a sweep, or the allowance covers it). */
  flushPending(ts: number = this.lastHubTs): string[] {
    if (this.pending.size === 0 && this.pendingRemoved.size === 0) return [];
    const frames = this.encodeDeltas([...this.pending.values()], [...this.pendingRemoved], ts);
    this.pending.clear();
    this.pendingRemoved.clear();
    this.pendingSinceTs = null;
    this.pendingChars = 0;
    const rate = this.options.viewerCharsPerSecond ?? 0;
    for (const f of frames) this.allowance -= f.length;
    this.allowance = Math.min(this.allowance, rate);
    return frames;
  }

  /** Whether deltas are held back (the relay's alarm then sends them after maxHoldMs at the latest). */
  hasPending(): boolean {
    return this.pending.size > 0 || this.pendingRemoved.size > 0;
  }

  /** Deltas for viewers, each within the frame limit: updates in batches, removals with the last batch. */
  private encodeDeltas(updates: readonly WireUpdate[], removed: readonly string[], ts: number): string[] {
    if (updates.length === 0 && removed.length === 0) return [];
    if (!Number.isFinite(this.maxFrameChars)) return [this.encoder.delta(updates, removed, ts)];
    const budget = Math.max(256, this.maxFrameChars - 16 * removed.length - 64);
    const batches: WireUpdate[][] = [];
    let batch: WireUpdate[] = [];
    let size = 0;
    for (const update of updates) {
      // An update costs its changes plus, when its machine is new to viewers, an announcement with the id.
      const chars = JSON.stringify(update[2]).length + update[0].length + 32;
      if (batch.length > 0 && size + chars > budget) {
        batches.push(batch);
        batch = [];
        size = 0;
      }
      batch.push(update);
      size += chars;
    }
    batches.push(batch);
    return batches.map((b, i) => this.encoder.delta(b, i === batches.length - 1 ? removed : [], ts));
  }

  private invalidate(): void {
    this.snapshotCache = null;
    this.snapshotFramesCache = null;
  }

  /** Marks machines not heard of for their offline time (see FleetPictureOptions.offlineAfterMs) offline;
   *  returns the delta to broadcast, or null. (The relay sends what is held back, flushPending, before it.) */
  sweep(nowMs: number): string | null {
    const updates: WireUpdate[] = [];
    for (const [id, machine] of this.hubFleet) {
      if (machine.status === 'offline' || this.silent.has(id)) continue;
      if (nowMs - (this.receivedAtMs.get(id) ?? nowMs) < (this.options.offlineAfterMs ?? offlineAfterMs(machine.intervalMs))) continue;
      this.silent.add(id);
      updates.push([id, Math.max(0, this.lastHubTs - machine.lastSeen), { s: 'offline' }]);
    }
    if (updates.length === 0) return null;
    this.invalidate();
    return this.encoder.delta(updates, [], this.lastHubTs);
  }

  /** True while some machine could still turn offline, i.e. a sweep is worth scheduling. */
  hasLiveMachines(): boolean {
    for (const [id, machine] of this.hubFleet) if (machine.status !== 'offline' && !this.silent.has(id)) return true;
    return false;
  }

  /** What viewers see for one machine. */
  viewOf(id: string): MachineView | undefined {
    const machine = this.hubFleet.get(id);
    if (!machine || !this.silent.has(id)) return machine;
    return { ...machine, status: 'offline' };
  }

  /** The newest `limit` recent points of a machine, oldest first; undefined for an unknown machine. */
  recentPoints(id: string, limit?: number): RecentPoint[] | undefined {
    if (!this.hubFleet.has(id)) return undefined;
    return this.recent.points(id, limit) ?? [];
  }

  views(): MachineView[] {
    return [...this.hubFleet.keys()].map((id) => this.viewOf(id)!);
  }

  /** The frame a new viewer starts from; encoded once per change, shared by every new viewer. */
  snapshotText(): string {
    this.snapshotCache ??= this.encoder.snapshot(this.views(), this.lastHubTs);
    return this.snapshotCache;
  }

  /** The snapshot as the frames a new viewer receives: one, or parts within the frame limit. */
  snapshotFrames(): string[] {
    if (this.snapshotFramesCache === null) {
      const text = this.snapshotText();
      this.snapshotFramesCache = text.length <= this.maxFrameChars ? [text] : splitSnapshot(JSON.parse(text) as SnapshotMessage, this.maxFrameChars);
    }
    return this.snapshotFramesCache;
  }

  /** Forgets everything (the view was revoked). Numbers already given to viewers stay reserved. */
  clear(): void {
    this.pending.clear();
    this.pendingRemoved.clear();
    this.pendingSinceTs = null;
    this.pendingChars = 0;
    this.hubFleet.clear();
    this.receivedAtMs.clear();
    this.silent.clear();
    this.recent.clear();
    this.uptime.clear();
    this.hubReader.reset();
    this.lastHubTs = 0;
    this.invalidate();
  }

  /** The hub's view, for storage; restore() with the same text rebuilds it. */
  checkpointText(): string {
    return createFleetEncoder().snapshot(this.hubFleet.values(), this.lastHubTs);
  }

  /** Rebuilds the fleet from a checkpoint; every machine counts as heard of at `savedAtMs`. The hub's
   *  numbering is not in it: the hub's next delta gets a resync request and the hub sends a snapshot. */
  restore(text: string, savedAtMs: number): void {
    const frame = createFleetReader().read(decodeFleetMessage(text, Number.MAX_SAFE_INTEGER));
    if (frame.t !== 's') throw new Error('a checkpoint must be a snapshot');
    this.hubFleet.clear();
    this.receivedAtMs.clear();
    this.silent.clear();
    this.recent.clear();
    this.hubReader.reset();
    for (const m of frame.machines) {
      this.hubFleet.set(m.id, m);
      this.receivedAtMs.set(m.id, savedAtMs);
    }
    this.lastHubTs = frame.ts;
    this.invalidate();
  }
}

/** About the characters one update takes in a viewer delta: `[key,offset,field,value,...],`. */
function estimateChars(u: WireUpdate): number {
  let n = 10;
  for (const value of Object.values(u[2])) n += 3 + (typeof value === 'number' ? String(value).length : JSON.stringify(value).length);
  return n;
}

/** Splits text into pieces of at most `maxChars` UTF-16 units (a SQLite row holds at most 2 MB). */
export function splitIntoChunks(text: string, maxChars: number): string[] {
  if (!(maxChars >= 2)) throw new Error(`maxChars must be at least 2 (got ${maxChars})`);
  const chunks: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + maxChars);
    // Never split a surrogate pair: a lone half would not survive the UTF-8 round trip through SQLite.
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks.length > 0 ? chunks : [''];
}
