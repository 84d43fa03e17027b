// The monthly Cloudflare bill of the edge, from counts measured in workerd (test/edge/cost.test.ts)
// and the published Workers Paid prices (developers.cloudflare.com: workers/platform/pricing,
// durable-objects/platform/pricing). Pure; docs/cost.md shows its output.

export const PRICES = Object.freeze({
  workersPaidBaseUsd: 5,
  workerRequestsIncluded: 10_000_000,
  workerRequestUsdPerMillion: 0.3,
  workerCpuMsIncluded: 30_000_000,
  workerCpuUsdPerMillionMs: 0.02,
  doRequestsIncluded: 1_000_000,
  doRequestUsdPerMillion: 0.15,
  /** Incoming WebSocket messages are billed 20:1 as requests; outgoing ones are free. */
  doWebSocketMessagesPerRequest: 20,
  doGbSecondsIncluded: 400_000,
  doUsdPerMillionGbSeconds: 12.5,
  doMemoryGb: 0.128,
  sqliteRowsWrittenIncluded: 50_000_000,
  sqliteUsdPerMillionRowsWritten: 1,
  sqliteRowsReadIncluded: 25_000_000_000,
  sqliteUsdPerMillionRowsRead: 0.001,
});

export const HOURS_PER_MONTH = 730;
export const VIEWERS_PER_SHARD = 30_000;

/** Per relay object and hour of 1 s pushes, as measured. */
export interface MeasuredRelayHour {
  hubFrames: number;
  alarms: number;
  alarmsSet: number;
  rowsWritten: number;
  /** Active (billable) seconds per hub frame, measured as workerd CPU per frame: an upper bound. */
  activeSecondsPerFrame: number;
  /** Extra active seconds per frame per connected viewer (the broadcast loop). */
  activeSecondsPerFramePerViewer: number;
}

export interface Scenario {
  machines: number;
  viewers: number;
  measured: MeasuredRelayHour;
  /** Dashboard sessions each viewer opens per day (each: one /ws upgrade = one DO request). */
  sessionsPerViewerPerDay: number;
  /** Worker invocations per session: the HTML page, /api/info, /ws (static JS/CSS bypass the Worker). */
  workerRequestsPerSession: number;
  workerCpuMsPerRequest: number;
}

export interface Bill {
  shards: number;
  doRequests: number;
  doGbSeconds: number;
  rowsWritten: number;
  workerRequests: number;
  usd: { base: number; workerRequests: number; workerCpu: number; doRequests: number; doDuration: number; storage: number; total: number };
}

const over = (used: number, included: number, usdPerMillion: number) => (Math.max(0, used - included) / 1e6) * usdPerMillion;

export function monthlyBill(s: Scenario): Bill {
  const p = PRICES;
  const m = s.measured;
  const shards = Math.max(1, Math.ceil(s.viewers / VIEWERS_PER_SHARD));
  const frames = m.hubFrames * HOURS_PER_MONTH;
  const sessions = s.viewers * s.sessionsPerViewerPerDay * (HOURS_PER_MONTH / 24);
  // The hub holds one socket per shard: every frame is one incoming WebSocket message on each shard
  // (20:1), no RPC between objects (test/edge/shard-cost.test.ts measures it).
  const hubRequests = (frames * shards) / p.doWebSocketMessagesPerRequest;
  const alarmRequests = m.alarms * HOURS_PER_MONTH * shards;
  const doRequests = hubRequests + alarmRequests + sessions;
  const viewersPerShard = s.viewers / shards;
  const activePerShard = frames * (m.activeSecondsPerFrame + m.activeSecondsPerFramePerViewer * viewersPerShard);
  const doGbSeconds = activePerShard * shards * p.doMemoryGb;
  // setAlarm is stored like a row: counted as one row written, to be safe.
  const rowsWritten = (m.rowsWritten + m.alarmsSet) * HOURS_PER_MONTH * shards;
  const workerRequests = sessions * s.workerRequestsPerSession;
  const usd = {
    base: p.workersPaidBaseUsd,
    workerRequests: over(workerRequests, p.workerRequestsIncluded, p.workerRequestUsdPerMillion),
    workerCpu: over(workerRequests * s.workerCpuMsPerRequest, p.workerCpuMsIncluded, p.workerCpuUsdPerMillionMs),
    doRequests: over(doRequests, p.doRequestsIncluded, p.doRequestUsdPerMillion),
    doDuration: over(doGbSeconds, p.doGbSecondsIncluded, p.doUsdPerMillionGbSeconds),
    storage: over(rowsWritten, p.sqliteRowsWrittenIncluded, p.sqliteUsdPerMillionRowsWritten),
    total: 0,
  };
  usd.total = usd.base + usd.workerRequests + usd.workerCpu + usd.doRequests + usd.doDuration + usd.storage;
  return { shards, doRequests, doGbSeconds, rowsWritten, workerRequests, usd };
}
