// Hub-silence and dead-man decisions of a public view's relay (durable-objects/hub-watch.ts).
import { describe, expect, it } from 'vitest';
import { deadmanAction, hubIsUp, nextWatchAtMs } from '../../durable-objects/hub-watch.ts';

describe('hub watch', () => {
  const options = { silentAfterMs: 1000, deadmanAfterMs: 5000 };
  it('is up only with a socket and a recent word from the hub', () => {
    expect(hubIsUp({ heardAtMs: 100, connected: true }, 500, options)).toBe(true);
    expect(hubIsUp({ heardAtMs: 100, connected: true }, 1100, options)).toBe(false);
    expect(hubIsUp({ heardAtMs: 100, connected: false }, 200, options)).toBe(false);
    expect(hubIsUp({ heardAtMs: 0, connected: true }, 200, options)).toBe(false);
  });
  it.each([
    [false, 100, 5099, null],
    [false, 100, 5100, 'fire'],
    [true, 100, 9000, null],
    [true, 9000, 9001, 'resolve'],
    [false, 0, 99_999, null], // never heard: not an outage
  ] as const)('fired=%s heard=%i now=%i → %s', (fired, heard, now, expected) => {
    expect(deadmanAction(fired, heard, now, options)).toBe(expected);
  });
  it('asks for the alarm when the next state change is due, and not at all when nothing can change', () => {
    expect(nextWatchAtMs({ heardAtMs: 100, connected: true }, false, 200, options)).toBe(1100);
    expect(nextWatchAtMs({ heardAtMs: 100, connected: false }, false, 200, options)).toBe(5100);
    expect(nextWatchAtMs({ heardAtMs: 100, connected: false }, true, 6000, options)).toBeNull();
    expect(nextWatchAtMs({ heardAtMs: 100, connected: false }, false, 200, { ...options, deadmanAfterMs: 0 })).toBeNull();
  });
});
