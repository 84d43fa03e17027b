// What being woken costs on this machine, apart from sysmonstm: the hub at 1,000 collectors × 1 Hz is
// woken once or more per report, and its CPU per report falls from ~2 ms at 63 reports/s to ~0.03 ms
// saturated with the same code (bench/RESULTS.md, issue 16). Two measurements that hold no sysmonstm
// code, so a figure from another machine says at once whether that machine behaves the same:
//   1. A fixed piece of work (one read per 64-byte line of a 512 KiB array, ~8k reads) run back to
//      back, then once after each sleep of S ms (Atomics.wait): CPU µs per run (process.cpuUsage).
//      On a machine whose caches and TLB stay warm the figure barely moves with S.
//   2. A Node TCP reader (its own process) that only counts 1-byte messages from 100 loopback sockets,
//      at R messages/s spread evenly over the second: the reader's CPU µs per message.
// Bounded: each sleep level at most --seconds (default 4) and 4,000 runs (20,000 back to back); each rate
// --seconds; 127.0.0.1 only. The reader is this file again (WAKE_COST_ROLE=reader, forked with ipc-child.ts).
// Run: node bench/wake-cost.ts [--seconds 4] [--rates 50,250,1000,5000]
import net from 'node:net';
import { forkChild } from './ipc-child.ts';
import { markdownTable, parseBenchArgs, listFlag, numberFlag, sleep } from './results.ts';

const SOCKETS = 100;
const SLEEPS_MS = [0, 0.05, 0.2, 1, 5, 20];
const MAX_RUNS = 4000;

const line = new Float64Array(1 << 16);
/** Where each pass's sum goes, so that the reads are not optimised away. */
let sink = 0;
/** The fixed work: one read per cache line of 512 KiB. */
function pass(): void {
  let s = 0;
  for (let i = 0; i < line.length; i += 8) s += line[i]!;
  sink += s;
}

const cpuUs = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

function fixedWork(seconds: number): Array<Record<string, string | number>> {
  const wait = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 2000; i++) pass(); // compiled and warm before the first figure
  return SLEEPS_MS.map((sleepMs) => {
    const runs = sleepMs === 0 ? MAX_RUNS * 5 : Math.max(50, Math.min(MAX_RUNS, Math.floor((seconds * 1000) / sleepMs)));
    const c0 = cpuUs();
    for (let i = 0; i < runs; i++) {
      if (sleepMs > 0) Atomics.wait(wait, 0, 0, sleepMs);
      pass();
    }
    return { 'sleep before each run': sleepMs === 0 ? 'none (back to back)' : `${sleepMs} ms`, runs, 'CPU µs per run': ((cpuUs() - c0) / runs).toFixed(1) };
  });
}

/** The reader process: counts messages, answers {type:'count', messages, cpuUs} on request; gone with its parent. */
function reader(): void {
  let messages = 0;
  const server = net.createServer((s) => s.on('data', (b) => (messages += b.length)));
  server.listen(0, '127.0.0.1', () => process.send!({ type: 'ready', port: (server.address() as net.AddressInfo).port }));
  process.on('message', (m) => {
    if (m === 'count') process.send!({ type: 'count', messages, cpuUs: cpuUs() });
    if (m === 'exit') process.exit(0);
  });
  process.on('disconnect', () => process.exit(0));
}

async function tcpReads(rates: number[], seconds: number): Promise<Array<Record<string, string | number>>> {
  const child = forkChild('wake-cost.ts', { env: { ...process.env, WAKE_COST_ROLE: 'reader' } });
  const { port } = await child.next<{ port: number }>('ready');
  const sockets = await Promise.all(
    Array.from({ length: SOCKETS }, () => new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    })),
  );
  const one = Buffer.from('x');
  const rows: Array<Record<string, string | number>> = [];
  try {
    for (const rate of rates) {
      const gapMs = 1000 / rate;
      const start = performance.now();
      let sent = 0;
      const count = () => (child.send('count'), child.next<{ messages: number; cpuUs: number }>('count'));
      let first: { messages: number; cpuUs: number } | undefined;
      // One message per gap, round robin over the sockets; a busy-wait-free pace of 1 ms ticks.
      while (performance.now() - start < seconds * 1000 + 500) {
        const due = Math.floor((performance.now() - start) / gapMs);
        for (; sent < due; sent++) sockets[sent % SOCKETS]!.write(one);
        if (!first && performance.now() - start >= 500) first = await count();
        await sleep(1);
      }
      const last = await count();
      const messages = last.messages - first!.messages;
      rows.push({ 'messages/s offered': rate, 'messages read': messages, 'reader CPU µs per message': ((last.cpuUs - first!.cpuUs) / Math.max(1, messages)).toFixed(1) });
    }
  } finally {
    for (const s of sockets) s.destroy();
    await child.close('exit', 5000);
  }
  return rows;
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2), process.env);
  const seconds = numberFlag(args, 'seconds', 4, 1);
  const rates = listFlag(args, 'rates', [50, 250, 1000, 5000], [50, 1000]);
  console.log('1. the same work, run back to back and after a sleep\n');
  console.log(markdownTable(fixedWork(seconds)));
  console.log(`\n2. a Node process reading 1-byte TCP messages (${SOCKETS} loopback sockets)\n`);
  console.log(markdownTable(await tcpReads(rates, seconds)));
}

if (process.env.WAKE_COST_ROLE === 'reader') reader();
else await main();
