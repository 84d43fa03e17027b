// The slow-viewer bookkeeping (durable-objects/viewer-lag.ts), as pure logic.
import { describe, expect, it } from 'vitest';
import { AckCounter, applyAck, LAG_FRAME, newViewerLag, parseAck, pause, recordSent, recordSentAhead, shouldClose, shouldPause, VIEWER_ACK_CHARS, VIEWER_ACK_FRAMES } from '../../durable-objects/viewer-lag.ts';

const options = { maxUnackedFrames: 4, maxUnackedChars: 1000, closeAfterMs: 5000 };

describe('viewer lag', () => {
  it('pauses past the frame or character limit, and a viewer that acks stays unpaused', () => {
    const lag = newViewerLag(true);
    for (let i = 0; i < 4; i++) recordSent(lag, 10);
    expect(shouldPause(lag, options)).toBe(false);
    recordSent(lag, 10);
    expect(shouldPause(lag, options)).toBe(true);
    expect(applyAck(lag, { n: 5, c: 50 })).toEqual({ progress: true, resume: false });
    expect(shouldPause(lag, options)).toBe(false);
    recordSent(lag, 1001);
    expect(shouldPause(lag, options)).toBe(true);
  });

  it('does not count the start frames against the limits, but the viewer acks them', () => {
    const lag = newViewerLag(true);
    recordSentAhead(lag, 50_000);
    recordSent(lag, 10);
    expect(shouldPause(lag, options)).toBe(false);
    expect(applyAck(lag, { n: 2, c: 50_010 }).progress).toBe(true);
    expect(lag.ackedFrames).toBe(2);
  });

  it('resumes a paused viewer once its ack covers everything sent; closes it after closeAfterMs', () => {
    const lag = newViewerLag(true);
    for (let i = 0; i < 6; i++) recordSent(lag, 10);
    pause(lag, 1000);
    recordSent(lag, LAG_FRAME.length);
    expect(shouldClose(lag, 5999, options)).toBe(false);
    expect(shouldClose(lag, 6000, options)).toBe(true);
    expect(applyAck(lag, { n: 6, c: 60 })).toEqual({ progress: true, resume: false });
    expect(applyAck(lag, { n: 7, c: 60 + LAG_FRAME.length })).toEqual({ progress: true, resume: true });
    expect(lag.pausedAtMs).toBeNull();
    expect(shouldClose(lag, 100_000, options)).toBe(false);
  });

  it('caps claims beyond what was sent and treats repeated acks as no progress', () => {
    const lag = newViewerLag(true);
    recordSent(lag, 10);
    expect(applyAck(lag, { n: 1_000, c: 1_000_000 }).progress).toBe(true);
    expect(lag.ackedFrames).toBe(1);
    expect(applyAck(lag, { n: 1_000, c: 1_000_000 }).progress).toBe(false);
    for (let i = 0; i < 5; i++) recordSent(lag, 10);
    expect(shouldPause(lag, options)).toBe(true); // the earlier over-claim bought nothing
  });

  it('takes the first ack after a wake as the baseline', () => {
    const lag = newViewerLag(false);
    recordSent(lag, 10);
    recordSent(lag, 10);
    expect(applyAck(lag, { n: 500, c: 90_000 })).toEqual({ progress: true, resume: false });
    recordSent(lag, 10);
    expect(applyAck(lag, { n: 501, c: 90_010 }).progress).toBe(true);
    expect(lag.ackedFrames).toBe(3);
  });

  it('parses only well-formed acks', () => {
    expect(parseAck('{"t":"a","n":3,"c":40}')).toEqual({ n: 3, c: 40 });
    for (const bad of ['ping', '{"t":"a","n":-1,"c":0}', '{"t":"a","n":1.5,"c":0}', '{"t":"a","n":1}', '{"t":"a",', `{"t":"a","n":1,"c":1,"x":"${'y'.repeat(200)}"}`]) {
      expect(parseAck(bad), bad).toBeNull();
    }
  });
});

describe('the viewer side', () => {
  it('acks every VIEWER_ACK_FRAMES frames, after VIEWER_ACK_CHARS, and at once on the lag frame; never counts pong', () => {
    const counter = new AckCounter();
    const acks: string[] = [];
    for (let i = 0; i < 2 * VIEWER_ACK_FRAMES; i++) {
      const a = counter.received('{"t":"d"}');
      if (a) acks.push(a);
      expect(counter.received('pong')).toBeNull();
    }
    expect(acks).toEqual([`{"t":"a","n":${VIEWER_ACK_FRAMES},"c":${9 * VIEWER_ACK_FRAMES}}`, `{"t":"a","n":${2 * VIEWER_ACK_FRAMES},"c":${18 * VIEWER_ACK_FRAMES}}`]);
    expect(parseAck(counter.received('x'.repeat(VIEWER_ACK_CHARS))!)).toMatchObject({ n: 2 * VIEWER_ACK_FRAMES + 1 });
    expect(parseAck(counter.received(LAG_FRAME)!)).toMatchObject({ n: 2 * VIEWER_ACK_FRAMES + 2 });
  });
});
