// Slow viewers, noticed without bufferedAmount (workerd has none): every viewer acknowledges what it
// has read, and the relay compares that with what it has sent. Pure state, no Workers APIs, no clock.
//
// - A viewer counts the frames and characters it has received on its socket (every text frame but the
//   runtime's "pong") and sends `{"t":"a","n":<frames>,"c":<chars>}` after every VIEWER_ACK_FRAMES (16)
//   frames or VIEWER_ACK_CHARS characters since its last ack, and at once when it reads `{"t":"lag"}`.
// - The relay counts what it sent to each socket. More than `maxUnackedFrames` frames or
//   `maxUnackedChars` characters sent and not acknowledged: the viewer is paused — it gets
//   `{"t":"lag"}` and then nothing (no deltas, no `h`/`up`), so what the runtime buffers for it stays
//   bounded by about the two limits.
// - A paused viewer whose ack covers everything sent (it has read the `lag` frame) has caught up: it
//   resumes with a fresh snapshot (it missed deltas). Paused longer than `closeAfterMs`: closed with
//   CLOSE_TOO_SLOW; the dashboard reconnects and starts from a snapshot.
// - State lives in memory only. After the object woke from hibernation (nothing was broadcast while
//   it slept) a socket has no state: the first ack then sets the baseline.

import { type Ack } from '../proto/viewer-ack.ts';

export { AckCounter, CLOSE_TOO_SLOW, LAG_FRAME, parseAck, RELAY_MAX_HOLD_MS, VIEWER_ACK_CHARS, VIEWER_ACK_FRAMES, type Ack } from '../proto/viewer-ack.ts';

export interface LagOptions {
  readonly maxUnackedFrames: number;
  readonly maxUnackedChars: number;
  readonly closeAfterMs: number;
}

export interface ViewerLag {
  /** Frames and characters sent on this socket since this state was made. */
  sentFrames: number;
  sentChars: number;
  /** The viewer's own counts at the moment this state was made (null: not known yet, after a wake). */
  baseFrames: number | null;
  baseChars: number;
  ackedFrames: number;
  ackedChars: number;
  /** Relay ms when the viewer was paused; null while it gets every frame. */
  pausedAtMs: number | null;
  /** Closed by the relay for being slow; the socket stays listed until the runtime lets it go (its
   *  peer may never read the close frame) and gets nothing more. */
  closing: boolean;
}

export function newViewerLag(knownFromStart: boolean): ViewerLag {
  return { sentFrames: 0, sentChars: 0, baseFrames: knownFromStart ? 0 : null, baseChars: 0, ackedFrames: 0, ackedChars: 0, pausedAtMs: null, closing: false };
}

/** Counts one frame sent. */
export function recordSent(lag: ViewerLag, chars: number): void {
  lag.sentFrames++;
  lag.sentChars += chars;
}

/** Counts a frame sent as if already acknowledged: the snapshot a viewer starts (or resumes) with may be
 *  larger than the lag limits and is sent once, so it is not what decides a pause. */
export function recordSentAhead(lag: ViewerLag, chars: number): void {
  recordSent(lag, chars);
  lag.ackedFrames++;
  lag.ackedChars += chars;
}

/** Whether the viewer is now too far behind and must be paused (call after recordSent). */
export function shouldPause(lag: ViewerLag, options: LagOptions): boolean {
  if (lag.pausedAtMs !== null) return false;
  return lag.sentFrames - lag.ackedFrames > options.maxUnackedFrames || lag.sentChars - lag.ackedChars > options.maxUnackedChars;
}

export function pause(lag: ViewerLag, nowMs: number): void {
  lag.pausedAtMs = nowMs;
}

/** A paused viewer that has waited too long. */
export function shouldClose(lag: ViewerLag, nowMs: number, options: LagOptions): boolean {
  return !lag.closing && lag.pausedAtMs !== null && nowMs - lag.pausedAtMs >= options.closeAfterMs;
}

/** The outcome of an ack: `progress` whether it acknowledged anything new (an ack that does not counts
 *  against the viewer's message allowance), `resume` when a paused viewer has caught up. */
export function applyAck(lag: ViewerLag, ack: Ack): { progress: boolean; resume: boolean } {
  if (lag.baseFrames === null) {
    // First ack after a wake: take it as caught up with what was sent since.
    lag.baseFrames = ack.n - lag.sentFrames;
    lag.baseChars = ack.c - lag.sentChars;
  }
  const frames = ack.n - lag.baseFrames;
  const chars = ack.c - lag.baseChars;
  // Claims beyond what was sent are capped (they cannot hide a lag); going backwards is no progress.
  const nextFrames = Math.min(lag.sentFrames, frames);
  const nextChars = Math.min(lag.sentChars, chars);
  const progress = nextFrames > lag.ackedFrames;
  lag.ackedFrames = Math.max(lag.ackedFrames, nextFrames);
  lag.ackedChars = Math.max(lag.ackedChars, nextChars);
  const resume = lag.pausedAtMs !== null && lag.ackedFrames >= lag.sentFrames;
  if (resume) lag.pausedAtMs = null;
  return { progress, resume };
}
