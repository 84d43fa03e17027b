import { describe, expect, it } from 'vitest';
import { createPause } from '../../../hub/events/pause.ts';

describe('createPause', () => {
  it('sleeps its time; stop() ends the current sleep and makes later ones return at once', async () => {
    const pause = createPause();
    let t = performance.now();
    await pause.sleep(30);
    expect(performance.now() - t).toBeGreaterThanOrEqual(25);
    t = performance.now();
    const long = pause.sleep(10_000);
    setTimeout(() => pause.stop(), 10);
    await long;
    expect(performance.now() - t).toBeLessThan(1000);
    t = performance.now();
    await pause.sleep(10_000);
    expect(performance.now() - t).toBeLessThan(50);
  });
});
