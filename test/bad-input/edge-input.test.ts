// Bad input at the public edge, in workerd (`wrangler dev`): malformed, oversized, binary and
// over-the-cap frames on the hub socket; wrong and missing hub tokens; viewers that write, write big,
// flood, hold too many sockets from one address or reconnect too fast. Each gets a clear answer (an
// error frame, 401, 429 with Retry-After, a close code), and afterwards the relay still serves the
// honest fleet to an honest viewer and over HTTP.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleetEncoder } from '../../proto/delta.ts';
import { handshakeStatus, machine, relayStats, TestHub, TestViewer, waitFor } from '../edge/edge-clients.ts';
import { startWranglerDev, type WranglerDev } from '../edge/wrangler-dev.ts';

const VARS = {
  MAX_VIEWERS_PER_IP: '4',
  VIEWER_CONNECTS_PER_MINUTE: '20',
  VIEWER_MESSAGES_PER_MINUTE: '5',
  MAX_INGEST_FRAME_BYTES: '65536',
  MAX_MACHINES: '100',
};
let dev: WranglerDev;
let hub: TestHub;
let honest: TestViewer;
const open: Array<{ close(): unknown }> = [];

/** Opens a viewer socket; resolves with it once open, or with the refusal (status and JSON body). */
function connectViewer(headers: Record<string, string> = {}): Promise<{ ws: WebSocket } | { status: number; body: string; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(dev.viewerUrl, { headers });
    ws.once('open', () => {
      open.push({ close: () => ws.terminate() });
      resolve({ ws });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

const closeCode = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

beforeAll(async () => {
  dev = await startWranglerDev({ vars: VARS });
  hub = await TestHub.forView(dev.ingestUrl, dev.hubToken, 'default');
  open.push(hub);
  hub.sendSnapshot([machine('good-1', { cpu_percent: 11 }), machine('good-2', { cpu_percent: 22 })], Date.now());
  await waitFor('the view configured and fed', async () => (await relayStats(dev.url, dev.hubToken))[0].machines === 2);
  honest = await TestViewer.open(dev.viewerUrl);
  open.push(honest);
  await waitFor('the honest fleet at the honest viewer', () => honest.fleet.size === 2);
}, 90_000);

afterAll(async () => {
  for (const c of open) await c.close();
  await dev?.stop();
});

describe('hub socket', () => {
  it('refuses missing and wrong tokens with 401 before the relay', async () => {
    expect(await handshakeStatus(dev.ingestUrl)).toBe(401);
    expect(await handshakeStatus(dev.ingestUrl, { Authorization: 'Bearer ' + 'x'.repeat(5000) })).toBe(401);
    expect(await handshakeStatus(dev.ingestUrl, { Authorization: `Bearer ${dev.hubToken.slice(0, -1)}` })).toBe(401);
    expect(await handshakeStatus(dev.ingestUrl, { Authorization: `Basic ${dev.hubToken}` })).toBe(401);
  });

  it.each<[string, string | Buffer, RegExp]>([
    ['not JSON', '{"t":"s",', /not JSON/],
    ['a number', '42', /not an object/],
    ['an unknown type', '{"t":"q","ts":1}', /t must be/],
    ['a revoke frame for another view', '{"t":"x","slug":"other"}', /this socket is for view "default"/],
    ['a config frame that names no view', '{"t":"c","title":"x","access":"public","keyHash":null,"metrics":[]}', /slug must match/],
    ['NaN smuggled as a string', '{"t":"d","ts":"NaN","u":[]}', /ts must be a finite number/],
    ['a hostile machine id', JSON.stringify({ t: 's', ts: 1, m: [{ k: 0, id: '<script>alert(1)</script>', n: 'x', h: 'x', s: 'healthy', l: {}, i: 1000, seen: 1, v: {} }] }), /machine id/],
    ['33 labels', JSON.stringify({ t: 's', ts: 1, m: [{ k: 0, id: 'x', n: 'x', h: 'x', s: 'healthy', l: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])), i: 1000, seen: 1, v: {} }] }), /at most 32 labels/],
    ['a status that does not exist', JSON.stringify({ t: 'd', ts: 1, u: [[0, 0, 's', 'pwned']] }), /status must be one of/],
    ['more machines than MAX_MACHINES', createFleetEncoder().snapshot(Array.from({ length: 101 }, (_, i) => machine(`m${i}`, {})), 1), /at most 100 machines/],
    ['a frame above MAX_INGEST_FRAME_BYTES', JSON.stringify({ t: 'd', ts: 1, u: [], pad: 'x'.repeat(70_000) }), /exceeds MAX_INGEST_FRAME_BYTES/],
    ['a binary frame', Buffer.from([0x08, 0x96, 0x01]), /binary frames are not accepted/],
    ['numbers the relay never heard of', JSON.stringify({ t: 'd', ts: 1, u: [[999, 0, 0, 50]] }), /unknown machine number/],
  ])('answers %s with an error frame and keeps the fleet', async (_name, frame, reason) => {
    const before = hub.replies.length;
    hub.ws.send(frame);
    const reply = await waitFor('the error frame', () => hub.replies.slice(before).find((r) => r.startsWith('{"t":"e"')));
    expect(JSON.parse(reply)).toMatchObject({ t: 'e', error: expect.stringMatching(reason) });
    expect(honest.fleet.size).toBe(2);
    expect(honest.value('good-1', 'cpu_percent')).toBe(11);
  });

  it('still takes good frames afterwards', async () => {
    hub.sendSnapshot([machine('good-1', { cpu_percent: 33 }), machine('good-2', { cpu_percent: 22 })], Date.now());
    await waitFor('the new value at the honest viewer', () => honest.value('good-1', 'cpu_percent') === 33);
  });
});

describe('viewers', () => {
  it('a viewer that writes too much is closed (1008), one frame too big too (1009); nothing reaches others', async () => {
    const chatty = await connectViewer();
    if (!('ws' in chatty)) throw new Error(`viewer refused: ${JSON.stringify(chatty)}`);
    const closed = closeCode(chatty.ws);
    for (let i = 0; i < 10; i++) chatty.ws.send(createFleetEncoder().snapshot([machine('evil', { cpu_percent: 99 })], Date.now()));
    expect(await closed).toBe(1008);

    const big = await connectViewer();
    if (!('ws' in big)) throw new Error(`viewer refused: ${JSON.stringify(big)}`);
    const bigClosed = closeCode(big.ws);
    big.ws.send('x'.repeat(2000));
    expect(await bigClosed).toBe(1009);
    expect(honest.fleet.has('evil')).toBe(false);
    const stats = (await relayStats(dev.url, dev.hubToken))[0];
    expect(stats.viewersClosedForAbuse).toBe(2); // one each, however many frames the chatty one sent past its allowance
  });

  it('caps sockets per address (429 with Retry-After), then connection attempts per minute', async () => {
    // The honest viewer holds one socket of this address already.
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await connectViewer());
    const accepted = results.filter((r) => 'ws' in r).length;
    const refused = results.filter((r): r is { status: number; body: string; retryAfter: string | undefined } => 'status' in r);
    expect(accepted).toBe(3);
    expect(refused.length).toBe(2);
    expect(refused[0]).toMatchObject({ status: 429, retryAfter: '30' });
    expect(JSON.parse(refused[0].body).error).toMatch(/too many open connections from your address \(at most 4\)/);
    for (const r of results) if ('ws' in r) r.ws.terminate();
    await new Promise((r) => setTimeout(r, 300));

    // Open and close fast: past 20 attempts a minute the handshake is refused with a wait.
    let rateRefusal: { status: number; body: string; retryAfter: string | undefined } | undefined;
    for (let i = 0; i < 40 && !rateRefusal; i++) {
      const r = await connectViewer();
      if ('ws' in r) {
        r.ws.terminate();
        await new Promise((res) => setTimeout(res, 20));
      } else if (/connection attempts/.test(r.body)) rateRefusal = r;
    }
    expect(rateRefusal).toMatchObject({ status: 429 });
    expect(Number(rateRefusal!.retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await relayStats(dev.url, dev.hubToken))[0].viewersRefused).toBeGreaterThanOrEqual(3);
  });

  it('counts IPv6 clients per /64: many addresses of one /64 share the cap of one address', async () => {
    const results = [];
    for (let i = 1; i <= 6; i++) results.push(await connectViewer({ 'CF-Connecting-IP': `2001:db8:5:6::${i.toString(16)}` }));
    const refused = results.filter((r): r is { status: number; body: string; retryAfter: string | undefined } => 'status' in r);
    expect(results.filter((r) => 'ws' in r).length).toBe(4);
    expect(refused.map((r) => r.status)).toEqual([429, 429]);
    expect(JSON.parse(refused[0].body).error).toMatch(/too many open connections from your address \(at most 4\)/);
    // The neighbouring /64 is another client.
    const other = await connectViewer({ 'CF-Connecting-IP': '2001:db8:5:7::1' });
    expect('ws' in other).toBe(true);
    for (const r of [...results, other]) if ('ws' in r) r.ws.terminate();
  });

  it('the relay still serves the honest fleet: to the honest viewer, and over HTTP', async () => {
    hub.sendDelta([['good-2', 0, { 0: 44 }]], [], Date.now());
    await waitFor('a delta after all that', () => honest.value('good-2', 'cpu_percent') === 44);
    const machines = (await (await fetch(`${dev.url}/api/machines`)).json()) as Array<{ id: string }>;
    expect(machines.map((m) => m.id)).toEqual(['good-1', 'good-2']);
    expect((await fetch(`${dev.url}/health`)).status).toBe(200);
    expect((await fetch(`${dev.url}/api/machines/${encodeURIComponent('../../etc')}/recent`)).status).toBe(400);
    expect((await fetch(`${dev.url}/api/machines/good-1/recent?limit=1e9`)).status).toBe(400);
  });
});
