// Rule matching cost — single-stream ingest with many alert rules. A real hub in this process (memory
// state, history in a fresh database on the local PostgreSQL, dropped afterwards) gets `--rules` rules
// over REST (default 500: half without a machine list, half scoped to 1,000 other machine ids), then
// one collector stream sends `--reports` synthetic reports as fast as acks allow (a bounded window of
// unacked reports). Printed: reports/s acked, and reports/s until the alert engine has evaluated every
// report's event (both include history writes), and CPU time per report of this process. Bounded in count; loopback only.
// Run: node bench/rule-matching.ts [--rules 500] [--reports 5000] [--window 200]
import { pino } from 'pino';
import { parseHubConfig } from '../hub/config.ts';
import { startHub } from '../hub/hub.ts';
import { createTestDatabase, tempDir } from '../test/support/servers.ts';
import { openSyntheticSession, syntheticReport } from '../test/support/synthetic-collector.ts';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const ruleCount = flag('rules', 500);
const reports = flag('reports', 5000);
const windowSize = flag('window', 200);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const db = await createTestDatabase();
const dir = tempDir('bench-rules');
const hub = await startHub(parseHubConfig([], { HTTP_PORT: '0', GRPC_PORT: '0', TIMESCALE_URL: db.url, DATA_DIR: dir.path, HISTORY_FLUSH_INTERVAL: '0.05' }), {
  log: pino({ level: 'silent' }),
});
try {
  const others = Array.from({ length: 1000 }, (_, i) => `other-${i}`);
  // The hub starts with its default rules (for every machine); the bench adds up to `--rules` in all.
  const existing = ((await (await fetch(`http://127.0.0.1:${hub.httpPort}/api/rules`)).json()) as unknown[]).length;
  for (let i = existing; i < ruleCount; i++) {
    const body = { name: `rule ${i}`, metric: 'cpu_percent', threshold: 99, ...(i % 2 === 1 ? { scope: { machines: others } } : {}) };
    const res = await fetch(`http://127.0.0.1:${hub.httpPort}/api/rules`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status !== 201) throw new Error(`rule ${i}: ${res.status} ${await res.text()}`);
  }
  const evaluated = () => (hub.stats() as { alerts: { evaluatedEvents: number } }).alerts.evaluatedEvents;
  const run = async (machine: string, count: number) => {
    const session = openSyntheticSession(`http://127.0.0.1:${hub.grpcPort}`, machine);
    while (session.responses.length === 0) await sleep(5);
    const evaluatedBefore = evaluated();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let seq = 1; seq <= count; seq++) {
      while (seq - session.acked() > windowSize) await sleep(1);
      session.send(syntheticReport(machine, seq, Date.now()));
    }
    while (session.acked() < count) await sleep(1);
    const ackedMs = performance.now() - t0;
    while (evaluated() - evaluatedBefore < count) await sleep(1);
    const evaluatedMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    await session.finish();
    // CPU time of this process (hub + the one client stream) per report: less swayed by other load than wall time.
    return { ackedPerSec: (count / ackedMs) * 1000, evaluatedPerSec: (count / evaluatedMs) * 1000, cpuUsPerReport: (cpu.user + cpu.system) / count };
  };
  await run('warmup-0', Math.min(500, reports));
  const result = await run('bench-0', reports);
  console.log(
    `${ruleCount} rules (${Math.ceil(ruleCount / 2)} for every machine, ${Math.floor(ruleCount / 2)} scoped to 1,000 other ids), 1 stream, ${reports} reports, window ${windowSize}: ` +
      `${result.ackedPerSec.toFixed(0)} reports/s acked, ${result.evaluatedPerSec.toFixed(0)} reports/s evaluated by the alert engine, ` +
      `${result.cpuUsPerReport.toFixed(0)} µs CPU per report (${(1e6 / result.cpuUsPerReport).toFixed(0)} reports per CPU-second)`,
  );
} finally {
  await hub.close();
  await db.drop();
  dir.remove();
}
