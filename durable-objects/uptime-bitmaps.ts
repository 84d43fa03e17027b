// Per-machine uptime over the last 24 h, kept by a view's relay from the pushes it already receives:
// 96 slots of 15 minutes, one bit each (seen in that slot or not). Bounded by design: 12 bytes per
// machine of the view, nothing per push beyond a comparison (a bit changes at most once per machine and
// slot), dropped with the machine. On the wire (the `up` frame, proto/view-frames.ts) and in the
// checkpoint a bitmap is base64 of 12 bytes: slot s (0 = the newest) is bit (s % 8) of byte ⌊s / 8⌋,
// bit 0 being the least significant. Pure: the clock is an argument.

export const UPTIME_SLOT_MS = 15 * 60_000;
export const UPTIME_SLOTS = 96;
const BYTES = UPTIME_SLOTS / 8;
const ALL = (1n << BigInt(UPTIME_SLOTS)) - 1n;

interface Row {
  /** Absolute slot number (⌊ms / slotMs⌋) that bit 0 stands for. */
  slot: number;
  bits: bigint;
}

export interface UptimeSnapshot {
  slotMs: number;
  /** End of the newest slot (ms). */
  end: number;
  m: Record<string, string>;
}

function toBase64(bits: bigint): string {
  let text = '';
  for (let i = 0; i < BYTES; i++) text += String.fromCharCode(Number((bits >> BigInt(8 * i)) & 0xffn));
  return btoa(text);
}

function fromBase64(b64: string): bigint {
  const text = atob(b64);
  if (text.length !== BYTES) throw new Error(`an uptime bitmap has ${BYTES} bytes (got ${text.length})`);
  let bits = 0n;
  for (let i = 0; i < BYTES; i++) bits |= BigInt(text.charCodeAt(i)) << BigInt(8 * i);
  return bits;
}

/** Bits of `row` as of slot `slot` (older slots shift towards the high bits; beyond 96 they fall off). */
function shiftedTo(row: Row, slot: number): bigint {
  const by = slot - row.slot;
  if (by <= 0) return row.bits;
  if (by >= UPTIME_SLOTS) return 0n;
  return (row.bits << BigInt(by)) & ALL;
}

export class UptimeBitmaps {
  readonly slotMs: number;
  private readonly rows = new Map<string, Row>();

  constructor(slotMs = UPTIME_SLOT_MS) {
    if (!(slotMs > 0)) throw new Error(`slotMs must be positive (got ${slotMs})`);
    this.slotMs = slotMs;
  }

  get size(): number {
    return this.rows.size;
  }

  slotOf(nowMs: number): number {
    return Math.floor(nowMs / this.slotMs);
  }

  /** Records that `id` was seen at `nowMs`; true when this set a bit that was not set (a visible change). */
  mark(id: string, nowMs: number): boolean {
    const slot = this.slotOf(nowMs);
    const row = this.rows.get(id);
    if (row === undefined) {
      this.rows.set(id, { slot, bits: 1n });
      return true;
    }
    if (slot < row.slot) return false; // a clock step back: that slot is already accounted for
    if (slot === row.slot && (row.bits & 1n) === 1n) return false;
    row.bits = shiftedTo(row, slot) | 1n;
    row.slot = slot;
    return true;
  }

  delete(id: string): void {
    this.rows.delete(id);
  }

  /** Drops every machine not in `ids` (the fleet after a snapshot). */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.rows.keys()) if (!ids.has(id)) this.rows.delete(id);
  }

  clear(): void {
    this.rows.clear();
  }

  /** One machine's bitmap as of `nowMs` (base64), or undefined when it was never seen. */
  bitmap(id: string, nowMs: number): string | undefined {
    const row = this.rows.get(id);
    return row === undefined ? undefined : toBase64(shiftedTo(row, this.slotOf(nowMs)));
  }

  /** Every machine's bitmap as of `nowMs`: the `up` frame's content and the checkpoint. */
  snapshot(nowMs: number): UptimeSnapshot {
    const slot = this.slotOf(nowMs);
    const m: Record<string, string> = {};
    for (const [id, row] of this.rows) m[id] = toBase64(shiftedTo(row, slot));
    return { slotMs: this.slotMs, end: (slot + 1) * this.slotMs, m };
  }

  /** Rebuilds from snapshot(); a checkpoint with another slot length is dropped (returns false). */
  restore(saved: UptimeSnapshot): boolean {
    this.rows.clear();
    if (saved.slotMs !== this.slotMs) return false;
    const slot = this.slotOf(saved.end - 1);
    for (const [id, b64] of Object.entries(saved.m)) this.rows.set(id, { slot, bits: fromBase64(b64) });
    return true;
  }
}

/** Slot flags of a bitmap, oldest first (what a bar draws left to right). */
export function uptimeSlots(b64: string, slots = UPTIME_SLOTS): boolean[] {
  const text = atob(b64);
  const out: boolean[] = [];
  for (let s = slots - 1; s >= 0; s--) out.push(((text.charCodeAt(s >> 3) >> (s & 7)) & 1) === 1);
  return out;
}
