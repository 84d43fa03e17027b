// The viewer acknowledgement protocol between the relay and every viewer (the public page, the bench's
// viewers): what a viewer sends after what it has read, the relay's pause frame and close code. The
// relay's bookkeeping of it is durable-objects/viewer-lag.ts. Pure, no Workers or DOM APIs.

/** Longest the relay holds a delta back to keep a viewer within VIEWER_BYTES_PER_S (hub time): frames
 *  of a large fleet may come this far apart, which the page allows for before calling a card stale. */
export const RELAY_MAX_HOLD_MS = 10_000;
/** Close code of a viewer that stayed behind for longer than the relay waits. */
export const CLOSE_TOO_SLOW = 4408;
export const LAG_FRAME = '{"t":"lag"}';
/** What a viewer sends after this many frames or characters received since its last ack. */
export const VIEWER_ACK_FRAMES = 16;
export const VIEWER_ACK_CHARS = 256 * 1024;

export interface Ack {
  n: number;
  c: number;
}

/** Reads an ack frame; null when the text is not one (malformed acks are not acks). */
export function parseAck(text: string): Ack | null {
  if (text.length > 128 || !text.startsWith('{"t":"a"')) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const { n, c } = value as { n?: unknown; c?: unknown };
  if (!Number.isSafeInteger(n) || !Number.isSafeInteger(c) || (n as number) < 0 || (c as number) < 0) return null;
  return { n: n as number, c: c as number };
}

/** The viewer side: counts what arrives and says when to ack. */
export class AckCounter {
  frames = 0;
  chars = 0;
  private framesAtAck = 0;
  private charsAtAck = 0;

  /** Counts one received text frame; returns the ack to send now, or null. */
  received(text: string): string | null {
    if (text === 'pong') return null;
    this.frames++;
    this.chars += text.length;
    if (text !== LAG_FRAME && this.frames - this.framesAtAck < VIEWER_ACK_FRAMES && this.chars - this.charsAtAck < VIEWER_ACK_CHARS) return null;
    this.framesAtAck = this.frames;
    this.charsAtAck = this.chars;
    return `{"t":"a","n":${this.frames},"c":${this.chars}}`;
  }
}
