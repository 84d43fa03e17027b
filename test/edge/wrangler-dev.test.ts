// test/edge/wrangler-dev.ts itself: a port another program holds is not mistaken for this wrangler
// dev's. Two real `wrangler dev`: the second, told to use the first one's port, cannot bind it and
// must say so instead of handing its caller the first one (whose /health answers just the same);
// the first keeps running.
import { afterAll, describe, expect, test } from 'vitest';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.ts';

describe('startWranglerDev', () => {
  let first: WranglerDev | undefined;
  afterAll(async () => {
    await first?.stop();
  });

  test('refuses a port that answers /health from another process', async () => {
    first = await startWranglerDev();
    await expect(startWranglerDev({ port: first.port, startTimeoutMs: 30_000 })).rejects.toThrow(/not from this wrangler dev|exited before it was ready/);
    expect((await fetch(`${first.url}/health`)).status).toBe(200);
  }, 90_000);
});
