// hub/ingest-service.ts, the Settings path, in process through Connect's createRouterTransport: the
// Welcome carries what `intervalFor` answers (asynchronously, per hello), pushSettings reaches the
// machine's live stream at once as a Settings message and reports false without one, and a stream
// that ended is no longer a target.
import { create } from '@bufbuild/protobuf';
import { createClient, createRouterTransport } from '@connectrpc/connect';
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { createMemoryEvents } from '../../hub/events/memory-events.ts';
import { createIngestService } from '../../hub/ingest-service.ts';
import { createMemoryState } from '../../hub/state/memory-state.ts';
import { IngestService, StreamRequestSchema, type StreamRequest, type StreamResponse } from '../../proto/gen/sysmonstm/v1/ingest_pb.js';
import { waitFor } from '../support/servers.ts';
import { syntheticReport } from '../support/synthetic-collector.ts';

const log = pino({ level: 'silent' });

describe('ingest: Settings in the Welcome and pushed live', () => {
  test('welcome, push, no stream', async () => {
    const asked: string[] = [];
    const wanted = new Map([['is-a', 250]]);
    const ingest: ReturnType<typeof createIngestService> = createIngestService({
      state: createMemoryState(),
      events: createMemoryEvents(log),
      history: { lastSeq: async () => 0 },
      writer: { add: async () => {} },
      log,
      maxMachines: 10,
      intervalFor: async (id) => {
        asked.push(id);
        // The owner changes is-c while its hello is being answered: the push waits for the Welcome.
        if (id === 'is-c') expect(ingest.pushSettings('is-c', { intervalMs: 700 })).toBe(true);
        await new Promise((r) => setTimeout(r, 5));
        return wanted.get(id) ?? 0;
      },
    });
    const client = createClient(IngestService, createRouterTransport((router) => router.service(IngestService, ingest)));

    let end: () => void = () => {};
    const ended = new Promise<void>((r) => (end = r));
    async function* requests(machine: string): AsyncGenerator<StreamRequest> {
      yield create(StreamRequestSchema, { kind: { case: 'hello', value: { machineId: machine, hostname: machine } } });
      yield create(StreamRequestSchema, { kind: { case: 'report', value: syntheticReport(machine, 1, Date.now()) } });
      await ended;
    }
    const got: StreamResponse[] = [];
    const reading = (async () => {
      for await (const res of client.stream(requests('is-a'))) got.push(res);
    })();

    await waitFor('the welcome', () => got.some((r) => r.kind.case === 'welcome'));
    const welcome = got.find((r) => r.kind.case === 'welcome')!;
    expect(welcome.kind.case === 'welcome' && welcome.kind.value.settings?.intervalMs).toBe(250);
    expect(asked).toEqual(['is-a']);

    expect(ingest.pushSettings('is-a', { intervalMs: 2000 })).toBe(true);
    expect(ingest.pushSettings('is-nobody', { intervalMs: 2000 })).toBe(false);
    await waitFor('the settings message', () => got.some((r) => r.kind.case === 'settings'));
    const settings = got.filter((r) => r.kind.case === 'settings');
    expect(settings).toHaveLength(1);
    expect(settings[0].kind.case === 'settings' && settings[0].kind.value.intervalMs).toBe(2000);

    end();
    await reading;
    expect(ingest.pushSettings('is-a', { intervalMs: 500 })).toBe(false);

    // A machine the owner set nothing for: 0, the collector's own.
    const other: StreamResponse[] = [];
    async function* once(): AsyncGenerator<StreamRequest> {
      yield create(StreamRequestSchema, { kind: { case: 'hello', value: { machineId: 'is-b', hostname: 'is-b' } } });
    }
    for await (const res of client.stream(once())) other.push(res);
    expect(other[0].kind.case === 'welcome' && other[0].kind.value.settings?.intervalMs).toBe(0);

    // A push while the hello is answered comes right after the Welcome, never before it.
    wanted.set('is-c', 300);
    let finish: () => void = () => {};
    const finished = new Promise<void>((r) => (finish = r));
    async function* held(): AsyncGenerator<StreamRequest> {
      yield create(StreamRequestSchema, { kind: { case: 'hello', value: { machineId: 'is-c', hostname: 'is-c' } } });
      await finished;
    }
    const third: StreamResponse[] = [];
    const readingThird = (async () => {
      for await (const res of client.stream(held())) third.push(res);
    })();
    await waitFor('welcome and settings', () => third.length >= 2);
    expect(third.map((r) => [r.kind.case, (r.kind.value as { settings?: { intervalMs: number }; intervalMs?: number }).settings?.intervalMs ?? (r.kind.value as { intervalMs?: number }).intervalMs])).toEqual([
      ['welcome', 300],
      ['settings', 700],
    ]);
    finish();
    await readingThird;
  });
});
