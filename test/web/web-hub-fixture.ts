// A real hub in process for the browser tests: a fresh database on the local PostgreSQL, its own data
// dir, both ports chosen by the system, Chromium launched; synthetic collectors fed on a timer when a
// test asks (`feed`), and everything closed in one order (`close`). A test that takes the hub away
// itself (the "hub gone" cases) calls `stopFeeding()` and `hub.close()`; `close()` copes with that.
import { mkdirSync } from 'node:fs';
import { pino } from 'pino';
import type { Browser } from 'playwright-core';
import { parseHubConfig } from '../../hub/config.ts';
import { startHub, type Hub } from '../../hub/hub.ts';
import type { Report } from '../../proto/gen/sysmonstm/v1/report_pb.js';
import { ensureWebBuilt } from '../../web/build.ts';
import { launchBrowser, SCREENSHOT_DIR } from '../support/dashboard-checks.ts';
import { createTestDatabase, tempDir } from '../support/servers.ts';
import { openSyntheticSession, syntheticReport, type SyntheticSession } from '../support/synthetic-collector.ts';

export interface WebHubOptions {
  /** Names the temporary data dir. */
  name: string;
  /** Hub environment beyond HTTP_PORT, GRPC_PORT ('0' both), DATA_DIR and TIMESCALE_URL (which it may override). */
  env?: Record<string, string>;
  /** The test opens the whole dashboard: the web build is made if missing and the screenshot dir exists. */
  dashboard?: boolean;
  /** The hub's database pool size (default the hub's). */
  dbMaxConnections?: number;
}

export interface FeedOptions {
  /** One machine's report for a tick (all machines share the tick's seq, counted from 1); default a synthetic report. */
  report?: (machine: string, seq: number) => Report;
  /** Every so many ms after the first report at once; 0: that one report only. Default 300. */
  everyMs?: number;
}

export interface Feed {
  /** One per machine, in order. */
  sessions: SyntheticSession[];
  /** No more reports; the sessions stay open (the machines fall silent, not disconnected). */
  stop(): void;
}

export interface WebHub {
  hub: Hub;
  /** The hub's HTTP origin, http://127.0.0.1:port. */
  base: string;
  /** The hub's gRPC address for collectors. */
  grpcUrl: string;
  db: Awaited<ReturnType<typeof createTestDatabase>>;
  browser: Browser;
  /** GET `base + path` and its JSON body. */
  getJson<T = unknown>(path: string): Promise<T>;
  /** Opens one synthetic collector session per machine and sends each a report now and then every `everyMs`. */
  feed(machines: string | string[], options?: FeedOptions): Feed;
  /** Stops every timer and ends every session `feed` opened. */
  stopFeeding(): Promise<void>;
  /** Timers, browser, sessions, hub, database, data dir: in that order, whatever was started. */
  close(): Promise<void>;
}

export async function startWebHub(options: WebHubOptions): Promise<WebHub> {
  const dir = tempDir(options.name);
  const timers: NodeJS.Timeout[] = [];
  const sessions: SyntheticSession[] = [];
  let db: WebHub['db'] | undefined;
  let hub: Hub | undefined;
  let browser: Browser | undefined;

  const stopFeeding = async () => {
    for (const t of timers.splice(0)) clearInterval(t);
    for (const s of sessions.splice(0)) await s.finish().catch(() => {});
  };
  const close = async () => {
    for (const t of timers.splice(0)) clearInterval(t);
    await browser?.close();
    await stopFeeding();
    await hub?.close();
    await db?.drop();
    dir.remove();
  };

  try {
    if (options.dashboard) {
      await ensureWebBuilt();
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
    }
    db = await createTestDatabase();
    const env = { HTTP_PORT: '0', GRPC_PORT: '0', DATA_DIR: dir.path, TIMESCALE_URL: db.url, ...options.env };
    hub = await startHub(parseHubConfig([], env), { log: pino({ level: 'silent' }), dbMaxConnections: options.dbMaxConnections });
    browser = await launchBrowser();
  } catch (e) {
    await close();
    throw e;
  }

  const base = `http://127.0.0.1:${hub.httpPort}`;
  const grpcUrl = `http://127.0.0.1:${hub.grpcPort}`;
  return {
    hub,
    base,
    grpcUrl,
    db,
    browser,
    getJson: async <T>(path: string) => (await (await fetch(`${base}${path}`)).json()) as T,
    feed(machines, { report = (m: string, seq: number) => syntheticReport(m, seq, Date.now()), everyMs = 300 }: FeedOptions = {}) {
      const ids = typeof machines === 'string' ? [machines] : machines;
      const opened = ids.map((id) => openSyntheticSession(grpcUrl, id));
      sessions.push(...opened);
      let seq = 0;
      const send = () => {
        seq++;
        ids.forEach((id, i) => opened[i].send(report(id, seq)));
      };
      send();
      const timer = everyMs > 0 ? setInterval(send, everyMs) : undefined;
      if (timer) timers.push(timer);
      return { sessions: opened, stop: () => clearInterval(timer) };
    },
    stopFeeding,
    close,
  };
}
