// Fault injection on the whole chain, run the way a user runs it: a private PostgreSQL and Redis on
// spare ports, the hub as a child process (`sysmonstm hub`, history flushed every 50 ms, forwarding to
// the edge), a real collector child process sampling every 100 ms with its own DATA_DIR, and
// `wrangler dev` (Worker + FleetRelay). Then each part in turn is killed (SIGKILL: a crash; SIGTERM:
// an orderly stop), kept down for a short outage while reports keep flowing, and started again.
// After every fault:
//   - stored history for the collector's machine (the `metrics` table) holds every seq from 1 to the
//     newest exactly once: zero missing, zero duplicated, and it has moved on past the fault;
//   - the hub's live view (/api/machines) and the Worker's (/api/machines) show fresh values again;
//   - after a Redis restart the hub has written current state back into the empty Redis;
//   - a restarted collector continued its seq (no renumbering against the hub).
// A summary line and test-output/faults-summary.json report faults survived, reports lost and
// duplicated, and the time to recover for each fault (docs/reliability.md quotes them).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWranglerDev, type WranglerDev } from '../edge/wrangler-dev.ts';
import { ROOT, runCli, type CliProcess } from '../support/hub-process.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from '../support/private-servers.ts';
import { freePort, tempDir, waitFor } from '../support/servers.ts';
import { writeEverythingViewFile } from '../support/public-views.ts';

const MACHINE_ID = 'fault-box';
const COLLECTION_INTERVAL_S = 0.1;
/** How long each part stays down: long enough for a few dozen reports to queue up behind it. */
const OUTAGE_MS = 1500;
/** A fault counts as recovered only once history has moved this many reports past the newest seq stored before it. */
const REPORTS_PAST_FAULT = 20;
const RECOVER_TIMEOUT_MS = 40_000;

type Signal = 'SIGKILL' | 'SIGTERM';
type Part = 'postgres' | 'redis' | 'hub' | 'collector' | 'edge' | 'postgres+hub';

interface SeqAccount {
  rows: number;
  distinct: number;
  maxSeq: number;
  missing: number;
  duplicated: number;
}

interface FaultResult {
  part: Part;
  signal: Signal;
  survived: boolean;
  /** Newest stored seq when the part was killed, and once it had recovered. */
  seqAtFault: number;
  seqAfter: number;
  missing: number;
  duplicated: number;
  /** Part killed → started again. */
  downMs: number;
  /** Part started again → history gapless past the fault and the hub's live view fresh. */
  historyRecoverMs: number;
  /** Part started again → the Worker's /api/machines fresh. */
  edgeRecoverMs: number;
  /** PostgreSQL faults: history rows the hub spooled to disk (and acked) while the database was down. */
  spooledRows?: number;
  error?: string;
}

let postgres: PrivatePostgres;
let redis: PrivateRedis;
let edge: WranglerDev;
let edgePort: number;
let hub: CliProcess;
let collector: CliProcess;
let hubUrl: string;
let grpcUrl: string;
let httpPort: number;
let grpcPort: number;
const hubDir = tempDir('faults-hub');
const collectorDir = tempDir('faults-collector');
const edgeStateDir = tempDir('faults-edge');
const results: FaultResult[] = [];
const suiteStartedMs = Date.now();
/** Output of earlier (killed) hub and collector processes, for failure messages. */
let pastOutput = '';

function startHubProcess(): CliProcess {
  return runCli(['hub'], {
    HTTP_PORT: String(httpPort),
    GRPC_PORT: String(grpcPort),
    GRPC_HOST: '127.0.0.1',
    DATA_DIR: hubDir.path,
    REDIS_URL: redis.url,
    TIMESCALE_URL: postgres.url,
    HISTORY_FLUSH_INTERVAL: '0.05',
    EDGE_URL: `ws://127.0.0.1:${edgePort}/ingest`,
    EDGE_API_KEY: edge.hubToken,
    PUBLIC_VIEWS_FILE: writeEverythingViewFile(hubDir.path),
    EDGE_PUSH_INTERVAL: '0.2',
    LIVE_PUSH_INTERVAL: '0.2',
    ALERT_TICK_INTERVAL: '1',
    COLLECTOR_TOKEN: '',
    DASHBOARD_TOKEN: '',
    ADMIN_TOKEN: '',
    LOG_LEVEL: 'warn',
  });
}

function startCollectorProcess(): CliProcess {
  return runCli(['collector'], {
    AGGREGATOR_URL: grpcUrl,
    MACHINE_ID,
    MACHINE_NAME: 'Fault box',
    COLLECTION_INTERVAL: String(COLLECTION_INTERVAL_S),
    DATA_DIR: collectorDir.path,
    COLLECTOR_TOKEN: '',
    LABELS: '',
    LOG_LEVEL: 'info',
  });
}

function startEdge(): Promise<WranglerDev> {
  return startWranglerDev({ port: edgePort, persistDir: edgeStateDir.path, startTimeoutMs: 45_000 });
}

async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: postgres.url, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Missing = seqs in 1..max not stored; duplicated = rows beyond one per seq. */
async function seqAccount(): Promise<SeqAccount> {
  const [row] = await query<{ rows: number; distinct: number; max: number }>(
    `SELECT count(*)::int AS rows, count(DISTINCT seq)::int AS distinct, coalesce(max(seq), 0)::int AS max FROM metrics WHERE machine_id = $1`,
    [MACHINE_ID],
  );
  return { rows: row.rows, distinct: row.distinct, maxSeq: row.max, missing: row.max - row.distinct, duplicated: row.rows - row.distinct };
}

/** The first few missing and duplicated seqs, for a failure message. */
async function seqProblems(): Promise<string> {
  const missing = await query<{ s: number }>(
    `SELECT s::int FROM generate_series(1, (SELECT coalesce(max(seq), 0) FROM metrics WHERE machine_id = $1)) s
     EXCEPT SELECT seq::int FROM metrics WHERE machine_id = $1 ORDER BY 1 LIMIT 20`,
    [MACHINE_ID],
  );
  const dups = await query<{ seq: number; n: number }>(
    `SELECT seq::int, count(*)::int AS n FROM metrics WHERE machine_id = $1 GROUP BY seq HAVING count(*) > 1 ORDER BY seq LIMIT 20`,
    [MACHINE_ID],
  );
  return `missing seqs: [${missing.map((r) => r.s).join(', ')}]; duplicated: [${dups.map((r) => `${r.seq}×${r.n}`).join(', ')}]`;
}

/** History rows this hub process has spooled to disk so far (its /metrics counter). */
async function hubSpooledRows(): Promise<number> {
  const res = await fetch(`${hubUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
  const families = parsePrometheusText(await res.text());
  return families.has('sysmonstm_hub_history_rows_total') ? sampleValue(families, 'sysmonstm_hub_history_rows_total', { outcome: 'spooled' }) : 0;
}

interface MachineSummary {
  id: string;
  lastSeen: number;
}

async function lastSeenAt(baseUrl: string): Promise<number | undefined> {
  const res = await fetch(`${baseUrl}/api/machines`, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) return undefined;
  return ((await res.json()) as MachineSummary[]).find((m) => m.id === MACHINE_ID)?.lastSeen;
}

function outputs(): string {
  return [
    `--- earlier hub/collector output ---\n${pastOutput.slice(-4000)}`,
    `--- hub ---\n${hub?.output().slice(-4000)}`,
    `--- collector ---\n${collector?.output().slice(-3000)}`,
    `--- wrangler ---\n${edge?.output().slice(-2000)}`,
  ].join('\n');
}

/** Newest stored seq, waiting while the database is away (it is, right after a PostgreSQL fault). */
async function storedMaxSeq(): Promise<number> {
  return (await waitFor('the database to answer', async () => (await seqAccount()).maxSeq || false, 15_000, 100)) as number;
}

/**
 * Kills `part` with `signal`, keeps it down for the outage, starts it again, and waits for history and
 * the live views to recover. Records the result whatever happens; rethrows a failure after recording.
 */
async function injectFault(part: Part, signal: Signal, kill: () => Promise<void>, restart: () => Promise<void>, extraCheck?: () => Promise<void>): Promise<FaultResult> {
  const seqAtFault = await storedMaxSeq();
  const result: FaultResult = { part, signal, survived: false, seqAtFault, seqAfter: 0, missing: -1, duplicated: -1, downMs: 0, historyRecoverMs: -1, edgeRecoverMs: -1 };
  results.push(result);
  try {
    const killedAtMs = Date.now();
    await kill();
    const downUntil = killedAtMs + OUTAGE_MS;
    if (Date.now() < downUntil) await new Promise((r) => setTimeout(r, downUntil - Date.now()));
    await restart();
    const restartedAtMs = Date.now();
    result.downMs = restartedAtMs - killedAtMs;

    // History: gapless, once, and past the fault by a good margin.
    let account: SeqAccount | undefined;
    try {
      account = await waitFor(
        `history to hold every seq up to ${seqAtFault + REPORTS_PAST_FAULT} once`,
        async () => {
          const a = await seqAccount();
          account = a;
          return a.maxSeq >= seqAtFault + REPORTS_PAST_FAULT && a.missing === 0 && a.duplicated === 0 ? a : undefined;
        },
        RECOVER_TIMEOUT_MS,
        100,
      );
    } catch (err) {
      const last = account ?? (await seqAccount().catch(() => undefined));
      if (last) Object.assign(result, { missing: last.missing, duplicated: last.duplicated, seqAfter: last.maxSeq });
      throw new Error(`${(err as Error).message}\n${await seqProblems().catch((e: Error) => e.message)}`);
    }
    // The hub's live view: a report received after the restart.
    await waitFor('fresh values in the hub /api/machines', async () => ((await lastSeenAt(hubUrl)) ?? 0) > restartedAtMs, RECOVER_TIMEOUT_MS, 100);
    result.historyRecoverMs = Date.now() - restartedAtMs;
    // The edge: the Worker's /api/machines shows a report received after the restart.
    await waitFor('fresh values in the Worker /api/machines', async () => ((await lastSeenAt(edge.url)) ?? 0) > restartedAtMs, RECOVER_TIMEOUT_MS, 200);
    result.edgeRecoverMs = Date.now() - restartedAtMs;
    await extraCheck?.();
    // Measured again at the end: nothing went missing or doubled while the checks ran.
    const final = await seqAccount();
    Object.assign(result, { seqAfter: final.maxSeq, missing: final.missing, duplicated: final.duplicated });
    expect(final.missing, await seqProblems()).toBe(0);
    expect(final.duplicated, await seqProblems()).toBe(0);
    result.survived = true;
    return result;
  } catch (err) {
    result.error = (err as Error).message.split('\n')[0];
    throw new Error(`${part} ${signal}: ${(err as Error).message}\n${outputs()}`);
  }
}

beforeAll(async () => {
  [postgres, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
  [edgePort, httpPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
  hubUrl = `http://127.0.0.1:${httpPort}`;
  grpcUrl = `http://127.0.0.1:${grpcPort}`;
  edge = await startEdge();
  hub = startHubProcess();
  await waitFor('the hub /health', async () => (await fetch(`${hubUrl}/health`)).ok, 30_000, 100).catch((err: Error) => {
    throw new Error(`${err.message}\n${outputs()}`);
  });
  collector = startCollectorProcess();
  try {
    await waitFor('the first reports in history', async () => (await seqAccount()).maxSeq >= 10, 30_000, 100);
    await waitFor('the machine at the Worker', async () => (await lastSeenAt(edge.url)) !== undefined, 30_000, 200);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${outputs()}`);
  }
}, 120_000);

afterAll(async () => {
  await collector?.stop('SIGTERM');
  await hub?.stop('SIGTERM');
  await edge?.stop();
  await Promise.all([postgres?.remove(), redis?.remove()]);
  const survived = results.filter((r) => r.survived).length;
  const lost = results.reduce((n, r) => n + Math.max(0, r.missing), 0);
  const duplicated = results.reduce((n, r) => n + Math.max(0, r.duplicated), 0);
  const summary = {
    faultsSurvived: survived,
    faults: results.length,
    reportsLost: lost,
    reportsDuplicated: duplicated,
    reportsStored: results.at(-1)?.seqAfter ?? 0,
    collectionIntervalMs: COLLECTION_INTERVAL_S * 1000,
    outageMs: OUTAGE_MS,
    wallSeconds: Math.round((Date.now() - suiteStartedMs) / 1000),
    results,
  };
  for (const r of results) {
    console.log(
      `${r.survived ? 'ok  ' : 'FAIL'} ${r.part.padEnd(9)} ${r.signal.padEnd(7)} down ${String(r.downMs).padStart(5)} ms, history+hub back ${String(r.historyRecoverMs).padStart(5)} ms, edge back ${String(r.edgeRecoverMs).padStart(5)} ms, seq ${r.seqAtFault} → ${r.seqAfter}, missing ${r.missing}, duplicated ${r.duplicated}${r.spooledRows === undefined ? '' : `, spooled ${r.spooledRows}`}${r.error ? ` (${r.error})` : ''}`,
    );
  }
  console.log(`faults survived: ${survived}/${results.length}, reports lost: ${lost}, duplicated: ${duplicated}`);
  const outDir = path.join(ROOT, 'test-output');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'faults-summary.json'), JSON.stringify(summary, null, 2) + '\n');
  hubDir.remove();
  collectorDir.remove();
  edgeStateDir.remove();
}, 60_000);

const FAULT_TIMEOUT_MS = 60_000;

// Each signal goes round every part in turn, so two faults of one part are a round apart: a collector
// that has been connected a while reconnects fast again (its backoff resets after 10 s of health).
describe('faults while reports flow every 100 ms', () => {
  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`PostgreSQL ${signal}: the hub spools history and replays it; nothing lost or doubled`, async () => {
      const spooledBefore = await hubSpooledRows();
      const result = await injectFault(
        'postgres',
        signal,
        () => postgres.kill(signal, 300),
        () => postgres.start(),
      );
      // The outage went through the spool (rows acked from local disk), not just through retries.
      result.spooledRows = (await hubSpooledRows()) - spooledBefore;
      expect(result.spooledRows).toBeGreaterThan(0);
    }, FAULT_TIMEOUT_MS);

    it(`Redis ${signal}: ingest carries on from memory, Redis is resynced when back`, async () => {
      await injectFault(
        'redis',
        signal,
        () => redis.kill(signal),
        () => redis.start(),
        async () => {
          // The restarted Redis started empty: the hub wrote current state back into it.
          const r = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
          try {
            await r.connect();
            await waitFor('current state back in Redis', async () => (await r.dbsize()) > 0, RECOVER_TIMEOUT_MS, 200);
          } finally {
            r.disconnect();
          }
        },
      );
    }, FAULT_TIMEOUT_MS);

    it(`hub ${signal}: the collector buffers and replays; the hub deduplicates`, async () => {
      await injectFault(
        'hub',
        signal,
        async () => {
          const code = await hub.stop(signal);
          if (signal === 'SIGTERM') expect(code, hub.output()).toBe(0);
          pastOutput += hub.output();
        },
        async () => {
          hub = startHubProcess();
          await waitFor('the hub /health', async () => (await fetch(`${hubUrl}/health`)).ok, 20_000, 100);
        },
      );
    }, FAULT_TIMEOUT_MS);

    it(`collector ${signal}: the restarted collector continues its seq from DATA_DIR`, async () => {
      await injectFault(
        'collector',
        signal,
        async () => {
          const code = await collector.stop(signal);
          if (signal === 'SIGTERM') expect(code, collector.output()).toBe(0);
          pastOutput += collector.output();
        },
        async () => {
          collector = startCollectorProcess();
        },
        async () => {
          // Its seq came from its own files (seq file, spool), not from renumbering against the hub.
          expect(collector.output()).toContain('collector started');
          expect(collector.output()).not.toContain('renumbering');
        },
      );
    }, FAULT_TIMEOUT_MS);

    it(`wrangler dev ${signal}: the hub reconnects and resends the fleet; the relay shows fresh values`, async () => {
      await injectFault(
        'edge',
        signal,
        () => edge.stop(signal),
        async () => {
          edge = await startEdge();
        },
      );
    }, FAULT_TIMEOUT_MS);
  }

  it('PostgreSQL down, then the hub SIGKILL while it spools: the restarted hub replays its spool from disk', async () => {
    let spooledBeforeCrash = 0;
    const result = await injectFault(
      'postgres+hub',
      'SIGKILL',
      async () => {
        const spooledBefore = await hubSpooledRows();
        await postgres.kill('SIGKILL');
        // Acked rows are now only in the hub's spool file; then the hub crashes.
        spooledBeforeCrash = await waitFor('rows in the hub spool', async () => ((await hubSpooledRows()) - spooledBefore) || false, 10_000, 50);
        const code = await hub.stop('SIGKILL');
        expect(code).toBe('SIGKILL');
        pastOutput += hub.output();
      },
      async () => {
        await postgres.start();
        hub = startHubProcess();
        await waitFor('the hub /health', async () => (await fetch(`${hubUrl}/health`)).ok, 20_000, 100);
      },
    );
    result.spooledRows = spooledBeforeCrash;
  }, FAULT_TIMEOUT_MS);
});
