// The pure parts of the benchmarks (bench/): statistics, RESULTS.md section rewriting, argument
// parsing, /proc parsing, CPU-profile and Prometheus-histogram summaries, the event-entry reader and
// the CSV for COPY. No timing is asserted anywhere: benchmarks are not tests.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COLLECTOR_NODE_OPTIONS } from '../../bin/collector-node-options.js';
import { collectorVariants, SOURCES, sourceEnv } from '../../bench/collector-variants.ts';
import { parseCollectorConfig } from '../../collector/config.ts';
import { summarizeCpuProfile, locationOf, type CpuProfile } from '../../bench/cpu-profile.ts';
import { receivedAtOf } from '../../bench/event-observer.ts';
import { sumCounters } from '../../bench/ingest-load.ts';
import { cpuSecondsOf, descendants, parseProcStat, parseStatusKb, treeUsage, type ProcStat } from '../../bench/process-usage.ts';
import { histogramQuantile, parseHistograms, subtractHistogram } from '../../bench/prom-histogram.ts';
import { COPY_COLUMNS, makeRows, toCsv } from '../../bench/raw-load.ts';
import {
  BENCHMARKS,
  listFlag,
  markdownTable,
  numberFlag,
  parseBenchArgs,
  percentile,
  REPO_ROOT,
  RESULTS_PATH,
  renderSection,
  resultsSkeleton,
  SampleList,
  scriptHelp,
  summarize,
  upsertSection,
} from '../../bench/results.ts';

describe('percentile (nearest rank)', () => {
  const hundred = Float64Array.from({ length: 100 }, (_, i) => i + 1);
  it.each([
    [hundred, 50, 50],
    [hundred, 99, 99],
    [hundred, 100, 100],
    [hundred, 0, 1],
    [hundred, 1, 1],
    [hundred, 99.5, 100],
    [[7], 50, 7],
    [[7], 99, 7],
    [[1, 2, 3, 4], 50, 2],
    [[1, 2, 3, 4], 75, 3],
    [[1, 2, 3, 4], 76, 4],
  ] as const)('%#: p%s', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });

  it('is NaN without values and refuses a percentile outside 0..100', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(/0\.\.100/);
    expect(() => percentile([1], -1)).toThrow(/0\.\.100/);
  });

  it('summarize sorts a copy and reports count, min, p50, p90, p99, max, mean', () => {
    const values = [5, 1, 4, 2, 3];
    expect(summarize(values)).toEqual({ count: 5, min: 1, p50: 3, p90: 5, p99: 5, max: 5, mean: 3 });
    expect(values).toEqual([5, 1, 4, 2, 3]);
    const empty = summarize([]);
    expect(empty.count).toBe(0);
    expect(empty.p99).toBeNaN();
  });

  it('SampleList grows past its first buffer and clears', () => {
    const list = new SampleList();
    for (let i = 0; i < 5000; i++) list.push(i);
    expect(list.length).toBe(5000);
    expect(list.values()[4999]).toBe(4999);
    list.clear();
    expect(list.length).toBe(0);
  });
});

describe('RESULTS.md sections', () => {
  const a = (body: string) => `<!-- bench:hub-ingest -->\n${body}\n<!-- /bench:hub-ingest -->`;

  it('replaces only the text between a section’s markers', () => {
    const doc = `# head\n\nintro\n\n${a('old body')}\n\n<!-- bench:fanout -->\nkept\n<!-- /bench:fanout -->\ntail\n`;
    const next = upsertSection(doc, 'hub-ingest', 'new body\n');
    expect(next).toBe(`# head\n\nintro\n\n${a('new body')}\n\n<!-- bench:fanout -->\nkept\n<!-- /bench:fanout -->\ntail\n`);
    expect(upsertSection(next, 'hub-ingest', 'new body')).toBe(next); // idempotent
  });

  it('appends a section that is not there yet, after one blank line', () => {
    expect(upsertSection('# head\n', 'hub-ingest', 'x')).toBe(`# head\n\n${a('x')}\n`);
    expect(upsertSection('', 'hub-ingest', 'x')).toBe(`${a('x')}\n`);
  });

  it('refuses broken markers and names that are not kebab-case', () => {
    expect(() => upsertSection('<!-- /bench:hub-ingest -->\n<!-- bench:hub-ingest -->', 'hub-ingest', 'x')).toThrow(/broken/);
    expect(() => upsertSection('<!-- bench:hub-ingest -->\n', 'hub-ingest', 'x')).toThrow(/broken/);
    expect(() => upsertSection(`${a('1')}\n${a('2')}`, 'hub-ingest', 'x')).toThrow(/broken/);
    expect(() => upsertSection('', 'Hub Ingest', 'x')).toThrow(/kebab-case/);
  });

  it('the skeleton holds a placeholder per benchmark, each replaceable in place', () => {
    const skeleton = resultsSkeleton();
    for (const b of BENCHMARKS) expect(skeleton).toContain(`<!-- bench:${b.name} -->\n## ${b.title}\n\n_Not run yet._\n<!-- /bench:${b.name} -->`);
    const next = upsertSection(skeleton, 'fanout', 'measured');
    expect(next.indexOf('<!-- bench:fanout -->')).toBe(skeleton.indexOf('<!-- bench:fanout -->'));
    expect(next).toContain('<!-- bench:fanout -->\nmeasured\n<!-- /bench:fanout -->');
  });

  it('a section says when, where and how it ran, and marks smoke runs', () => {
    const machine = { cpuModel: 'Test CPU', cores: 2, ramBytes: 4 * 1024 ** 3, kernel: 'Linux 6.1', node: 'v22.18.0', platform: 'linux/x64' };
    const input = { name: 'fanout' as const, body: '| a |\n| --- |\n| 1 |', command: 'node bench/fanout.ts --quick', date: new Date('2025-01-02T03:04:05.678Z'), machine };
    const smoke = renderSection({ ...input, quick: true });
    expect(smoke).toMatch(/^## Fan-out under wrangler dev\n\n> \*\*SMOKE RUN\*\*/);
    expect(smoke).toContain('- Run: 2025-01-02T03:04:05Z');
    expect(smoke).toContain('- Machine: Test CPU, 2 cores, 4.0 GiB RAM, Linux 6.1, Node v22.18.0 (linux/x64)');
    expect(smoke).toContain('- Command: `node bench/fanout.ts --quick`');
    expect(smoke.endsWith('| 1 |')).toBe(true);
    expect(renderSection({ ...input, quick: false })).not.toContain('SMOKE');
  });

  it('markdown tables escape pipes and show non-finite numbers as n/a', () => {
    expect(markdownTable([{ a: 'x|y', b: Number.NaN, c: 2 }])).toBe('| a | b | c |\n| --- | --- | --- |\n| x\\|y | n/a | 2 |');
    expect(markdownTable([])).toBe('_(no rows)_');
  });
});

describe('benchmark arguments', () => {
  it('reads --quick, BENCH_QUICK, values and positional names', () => {
    const a = parseBenchArgs(['fanout', '--steps', '10,20', '--quick', '--window=5', '--profile', 'x'], {});
    expect(a).toEqual({ quick: true, flags: { steps: '10,20', quick: true, window: '5', profile: true }, positional: ['fanout', 'x'] });
    expect(parseBenchArgs([], { BENCH_QUICK: '1' }).quick).toBe(true);
    expect(parseBenchArgs([], { BENCH_QUICK: '0' }).quick).toBe(false);
    expect(parseBenchArgs([], {}).quick).toBe(false);
  });

  it('numbers and lists fall back to the full or quick default and reject nonsense', () => {
    const full = parseBenchArgs([], {});
    const quick = parseBenchArgs(['--quick'], {});
    expect(numberFlag(full, 'window', 300, 20)).toBe(300);
    expect(numberFlag(quick, 'window', 300, 20)).toBe(20);
    expect(numberFlag(parseBenchArgs(['--window', '7'], {}), 'window', 300, 20)).toBe(7);
    expect(() => numberFlag(parseBenchArgs(['--window', 'soon'], {}), 'window', 1, 1)).toThrow(/--window/);
    expect(listFlag(quick, 'steps', [100, 1000], [10])).toEqual([10]);
    expect(listFlag(parseBenchArgs(['--steps', '1,2'], {}), 'steps', [100], [10])).toEqual([1, 2]);
    expect(() => listFlag(parseBenchArgs(['--steps', '1,x'], {}), 'steps', [100], [10])).toThrow(/--steps/);
  });
});

describe('/proc parsing', () => {
  const stat = (pid: number, ppid: number, utime: number, cutime: number, comm = 'node'): string =>
    `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194304 100 0 0 0 ${utime} 5 ${cutime} 2 20 0 1 0 100 1000000 500`;

  it('reads fields after a command name with spaces and parentheses', () => {
    const s = parseProcStat(stat(42, 1, 30, 7, 'my (odd) cmd'));
    expect(s).toEqual({ pid: 42, comm: 'my (odd) cmd', state: 'S', ppid: 1, pgrp: 42, utime: 30, stime: 5, cutime: 7, cstime: 2 });
    expect(() => parseProcStat('garbage')).toThrow(/stat/);
  });

  it('reads kB lines of /proc/<pid>/status as bytes', () => {
    const status = 'Name:\tnode\nVmHWM:\t  123456 kB\nVmRSS:\t   100 kB\n';
    expect(parseStatusKb(status, 'VmHWM')).toBe(123456 * 1024);
    expect(parseStatusKb(status, 'VmRSS')).toBe(100 * 1024);
    expect(parseStatusKb(status, 'VmSwap')).toBeUndefined();
  });

  it('sums CPU over a process and all its descendants, and nothing else', () => {
    const table = new Map<number, ProcStat>(
      [stat(1, 0, 1000, 0), stat(10, 1, 100, 50), stat(11, 10, 20, 0), stat(12, 11, 3, 0), stat(20, 1, 999, 0)].map((t) => {
        const s = parseProcStat(t);
        return [s.pid, s];
      }),
    );
    const tree = descendants(table, 10).sort((x, y) => x - y);
    expect(tree).toEqual([10, 11, 12]);
    // (100+5+50+2) + (20+5+0+2) + (3+5+0+2) ticks at 100 Hz
    expect(cpuSecondsOf(table, tree, 100)).toBeCloseTo(1.94, 10);
    expect(descendants(table, 99)).toEqual([]);
  });

  it('finds a real child of this process in its tree', async () => {
    const child = spawn('sleep', ['5']);
    try {
      await new Promise((r) => child.once('spawn', r));
      const usage = treeUsage(process.pid)!;
      expect(usage.pids).toContain(process.pid);
      expect(usage.pids).toContain(child.pid);
      expect(usage.hwmBytes).toBeGreaterThan(0);
      expect(usage.cpuSeconds).toBeGreaterThan(0);
    } finally {
      child.kill();
    }
  });
});

describe('CPU profile summary', () => {
  const profile: CpuProfile = {
    startTime: 0,
    endTime: 10_000,
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 3, 4, 5] },
      { id: 2, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      { id: 3, callFrame: { functionName: 'handleReport', url: 'file:///repo/hub/ingest-service.ts', lineNumber: 9 } },
      { id: 4, callFrame: { functionName: 'toBinary', url: 'file:///repo/node_modules/@bufbuild/protobuf/dist/esm/to-binary.js', lineNumber: 0 } },
      { id: 5, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
    ],
    // 1 ms between samples; a sample's time is the interval after it
    samples: [2, 2, 3, 3, 3, 4, 5, 3],
    timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
  };

  it('attributes self time per function and per place, idle apart', () => {
    const s = summarizeCpuProfile(profile, { root: '/repo' });
    expect(s.idleMs).toBe(2);
    expect(s.busyMs).toBe(5); // the last sample has no interval after it
    expect(s.topFrames.map((f) => [f.frame, f.selfMs])).toEqual([
      ['handleReport hub/ingest-service.ts:10', 3],
      ['toBinary pkg:@bufbuild/protobuf:1', 1],
      ['(garbage collector)', 1],
    ]);
    expect(s.topFrames[0].percent).toBeCloseTo(60, 10);
    expect(s.byLocation.map((l) => l.where)).toEqual(['hub/ingest-service.ts', 'pkg:@bufbuild/protobuf', '(garbage collector)']);
  });

  it('falls back to hit counts without samples', () => {
    const byHits: CpuProfile = { startTime: 0, endTime: 4000, nodes: profile.nodes.map((n) => ({ ...n, hitCount: n.id === 3 ? 3 : n.id === 2 ? 1 : 0 })) };
    const s = summarizeCpuProfile(byHits, { root: '/repo' });
    expect(s.busyMs).toBe(3);
    expect(s.idleMs).toBe(1);
  });

  it('names where code lives', () => {
    expect(locationOf('node:internal/streams/readable', '/repo')).toBe('node:internal');
    expect(locationOf('file:///repo/node_modules/pg/lib/client.js', '/repo')).toBe('pkg:pg');
    expect(locationOf('file:///repo/hub/hub.ts', '/repo')).toBe('hub/hub.ts');
    expect(locationOf('', '/repo')).toBe('(native/VM)');
  });
});

describe('Prometheus histograms', () => {
  const text = (scale: number) => `# HELP ingest_publish_seconds receipt to publish
# TYPE ingest_publish_seconds histogram
ingest_publish_seconds_bucket{le="0.01",stream="a"} ${10 * scale}
ingest_publish_seconds_bucket{le="0.05",stream="a"} ${90 * scale}
ingest_publish_seconds_bucket{le="+Inf",stream="a"} ${100 * scale}
ingest_publish_seconds_bucket{le="0.01",stream="b"} 0
ingest_publish_seconds_bucket{le="0.05",stream="b"} 0
ingest_publish_seconds_bucket{le="+Inf",stream="b"} 0
ingest_publish_seconds_sum{stream="a"} ${2 * scale}
ingest_publish_seconds_count{stream="a"} ${100 * scale}
# TYPE other_total counter
other_total 5
`;

  it('sums label sets and estimates quantiles like histogram_quantile', () => {
    const h = parseHistograms(text(1)).get('ingest_publish_seconds')!;
    expect(h.buckets).toEqual([
      [0.01, 10],
      [0.05, 90],
      [Number.POSITIVE_INFINITY, 100],
    ]);
    expect(h.count).toBe(100);
    expect(histogramQuantile(h, 0.05)).toBeCloseTo(0.005, 10); // rank 5 of 10 in [0, 0.01]
    expect(histogramQuantile(h, 0.5)).toBeCloseTo(0.01 + 0.04 * (40 / 80), 10);
    expect(histogramQuantile(h, 0.99)).toBe(0.05); // in +Inf: the last finite bound
    expect(parseHistograms(text(1)).has('other_total')).toBe(false);
  });

  it('subtracts an earlier scrape to get one window', () => {
    const later = parseHistograms(text(3)).get('ingest_publish_seconds')!;
    const earlier = parseHistograms(text(1)).get('ingest_publish_seconds')!;
    const d = subtractHistogram(later, earlier);
    expect(d.count).toBe(200);
    expect(d.buckets.map(([, c]) => c)).toEqual([20, 180, 200]);
    expect(histogramQuantile(subtractHistogram(earlier, earlier), 0.5)).toBeNaN();
  });
});

describe('small readers and writers', () => {
  it('reads receivedAtMs of a stream entry without parsing the whole event', () => {
    const json = JSON.stringify({ record: { id: 'm', metrics: { receivedAtMs: 1 } }, receivedAtMs: 1_700_000_000_123 });
    expect(receivedAtOf(json)).toBe(1_700_000_000_123);
    expect(receivedAtOf('{"record":{}}')).toBeUndefined();
  });

  it('rows for bulk loads: one per machine per step, seqs per machine, CSV in column order', () => {
    const rows = makeRows('m-', 2, 5, 1_000_000);
    expect(rows.map((r) => [r.machineId, r.seq, r.timeMs])).toEqual([
      ['m-0', 1, 1_000_000],
      ['m-1', 1, 1_000_000],
      ['m-0', 2, 1_001_000],
      ['m-1', 2, 1_001_000],
      ['m-0', 3, 1_002_000],
    ]);
    const csv = toCsv([{ ...rows[0], metrics: { ...rows[0].metrics, cpu_percent: 12.5, temperature_c: null, swap_percent: Number.NaN } }]);
    const cells = csv.trimEnd().split(',');
    expect(cells).toHaveLength(COPY_COLUMNS.length);
    expect(cells.slice(0, 4)).toEqual(['1970-01-01T00:16:40.000Z', 'm-0', '1', '12.5']);
    expect(cells[COPY_COLUMNS.indexOf('temperature_c')]).toBe('');
    expect(cells[COPY_COLUMNS.indexOf('swap_percent')]).toBe('');
    expect(csv.endsWith('\n')).toBe(true);
  });

  it('load counters add up over workers, keeping the first five errors', () => {
    const c = (n: number, errors: string[]) => ({ streams: n, sent: 10 * n, acked: 9 * n, rejected: 0, streamErrors: errors.length, unackedStreams: 1, unackedReports: n, lateSends: 0, firstErrors: errors });
    const total = sumCounters([c(1, ['a', 'b', 'c']), c(2, ['d', 'e', 'f'])]);
    expect(total).toMatchObject({ streams: 3, sent: 30, acked: 27, streamErrors: 6, unackedStreams: 2, unackedReports: 3 });
    expect(total.firstErrors).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});

describe('bench:collector configurations (collector-variants.ts)', () => {
  const paths = { engineSocket: '/t/docker.sock', absentSocket: '/t/none.sock', fakeBin: '/t/bin', noGpuBin: '/t/bin-no-gpu', path: '/usr/bin' };

  it('each source alone turns on that source and no other, as the collector reads the variables', () => {
    for (const name of SOURCES) {
      const config = parseCollectorConfig([], sourceEnv([name], paths), { hostname: 'box' });
      const on = {
        containers: config.dockerSocket === paths.engineSocket,
        topProcesses: config.topProcesses > 0,
        gpus: sourceEnv([name], paths).PATH.startsWith(`${paths.fakeBin}:`),
        diskHealth: config.smartIntervalMs > 0,
        services: config.servicePatterns.length > 0,
      };
      expect(Object.entries(on).filter(([, v]) => v).map(([k]) => k), name).toEqual([name]);
    }
  });

  it('the options part runs every source under each option set; the sources part runs as shipped (no node options)', () => {
    const options = collectorVariants('options', paths);
    const sources = collectorVariants('sources', paths);
    expect(options.filter((v) => v.sources.length === SOURCES.length).map((v) => v.nodeArgs.join(' '))).toContain(COLLECTOR_NODE_OPTIONS.join(' '));
    expect(sources.every((v) => v.nodeArgs.length === 0)).toBe(true);
    expect(sources.map((v) => v.sources.length)).toEqual([0, 1, 1, 1, 1, 1, SOURCES.length]);
    expect(collectorVariants(undefined, paths)).toHaveLength(options.length + sources.length);
  });
});

describe('--help', () => {
  it('is the script header comment', () => {
    expect(scriptHelp('// Benchmark: what it does.\n//   Run: node x.ts [--n 1]\n//\nimport x from "y";\n// not help')).toBe('Benchmark: what it does.\n  Run: node x.ts [--n 1]\n');
  });
  it('prints it and runs nothing (RESULTS.md untouched)', async () => {
    const before = readFileSync(RESULTS_PATH, 'utf8');
    const child = spawn(process.execPath, ['bench/fanout.ts', '--help'], { cwd: REPO_ROOT });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(out).toMatch(/^Benchmark 3 — fan-out under `wrangler dev`/);
    expect(out).toMatch(/Run: node bench\/fanout\.ts/);
    expect(readFileSync(RESULTS_PATH, 'utf8')).toBe(before);
  });
});
