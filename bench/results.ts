// Shared by every benchmark: the command line (--quick / BENCH_QUICK=1 shrinks a run to a smoke size),
// the description of the machine, latency statistics, markdown tables, and the writer that puts a
// benchmark's section into bench/RESULTS.md. The math and the section rewriting are pure (tested in
// test/bench/bench-helpers.test.ts); writeResultsSection is the thin file shell around them.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const BENCH_DIR = import.meta.dirname;
export const REPO_ROOT = path.resolve(BENCH_DIR, '..');
export const RESULTS_PATH = path.join(BENCH_DIR, 'RESULTS.md');

/** Every benchmark with a section in RESULTS.md, in the order the file lists them. */
export const BENCHMARKS = [
  { name: 'delta-format', title: 'Delta wire format' },
  { name: 'collector-footprint', title: 'Collector footprint vs node_exporter and Glances' },
  { name: 'hub-ingest', title: 'Hub ingest' },
  { name: 'fanout', title: 'Fan-out under wrangler dev' },
  { name: 'freshness', title: 'End-to-end freshness' },
  { name: 'footprint-storage', title: 'Hub memory and history storage' },
  { name: 'embedded-default', title: 'The embedded default: TimescaleDB build vs upstream PGlite' },
] as const;
export type BenchName = (typeof BENCHMARKS)[number]['name'];

// ---- command line ----------------------------------------------------------------------------------

export interface BenchArgs {
  /** Smoke size: every count and duration shrunk so the run takes seconds to a minute or two. */
  readonly quick: boolean;
  /** `--name value` / `--name=value` / bare `--flag` (true). */
  readonly flags: Readonly<Record<string, string | true>>;
  /** Arguments that are not flags, in order. */
  readonly positional: readonly string[];
}

/** Flags that never take a value (any benchmark's); every other `--name` takes the next argument when it is not a flag. */
export const BOOLEAN_FLAGS: ReadonlySet<string> = new Set(['quick', 'profile', 'no-profile', 'help']);

/** Pure: a benchmark script's help, its leading `//` comment block (what it measures and how to run it). */
export function scriptHelp(source: string): string {
  const lines: string[] = [];
  for (const line of source.split('\n')) {
    if (!line.startsWith('//')) break;
    lines.push(line.replace(/^\/\/ ?/, ''));
  }
  return lines.join('\n');
}

export function parseBenchArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): BenchArgs {
  const flags: Record<string, string | true> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (inline !== undefined) flags[name] = inline;
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--') && !BOOLEAN_FLAGS.has(name)) flags[name] = argv[++i];
    else flags[name] = true;
  }
  if (flags.help === true || positional.includes('-h')) {
    // A run rewrites its section of RESULTS.md and takes minutes: asking how to run one must not start one.
    process.stdout.write(`${scriptHelp(readFileSync(process.argv[1], 'utf8'))}\n`);
    process.exit(0);
  }
  const envQuick = env.BENCH_QUICK !== undefined && env.BENCH_QUICK !== '' && env.BENCH_QUICK !== '0';
  return { quick: flags.quick === true || envQuick, flags, positional };
}

/** A numeric flag, else the quick or the full default. Rejects what is not a positive finite number. */
export function numberFlag(args: BenchArgs, name: string, full: number, quick: number): number {
  const raw = args.flags[name];
  if (raw === undefined) return args.quick ? quick : full;
  const value = Number(raw);
  if (raw === true || !Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a non-negative number (got ${String(raw)})`);
  return value;
}

/** A comma-separated list of numbers (`--steps 100,1000`), else the default for the mode. */
export function listFlag(args: BenchArgs, name: string, full: readonly number[], quick: readonly number[]): number[] {
  const raw = args.flags[name];
  if (raw === undefined) return [...(args.quick ? quick : full)];
  const values = String(raw).split(',').map(Number);
  if (raw === true || values.some((v) => !Number.isFinite(v) || v <= 0)) throw new Error(`--${name} needs comma-separated positive numbers (got ${String(raw)})`);
  return values;
}

/** The command as typed, relative to the repo (for RESULTS.md). */
export function commandLine(argv: readonly string[] = process.argv, env: Readonly<Record<string, string | undefined>> = process.env): string {
  const script = path.relative(REPO_ROOT, argv[1] ?? '');
  const prefix = env.BENCH_QUICK && env.BENCH_QUICK !== '0' ? `BENCH_QUICK=${env.BENCH_QUICK} ` : '';
  return `${prefix}node ${[script, ...argv.slice(2)].join(' ')}`.trim();
}

// ---- the machine -----------------------------------------------------------------------------------

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  ramBytes: number;
  kernel: string;
  node: string;
  platform: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    ramBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.cpuModel}, ${m.cores} cores, ${formatBytes(m.ramBytes)} RAM, ${m.kernel}, Node ${m.node} (${m.platform})`;
}

// ---- statistics ------------------------------------------------------------------------------------

/** Nearest-rank percentile of values sorted ascending: the smallest value with at least p% of the values at or below it. NaN when empty. */
export function percentile(sortedAsc: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100 (got ${p})`);
  const n = sortedAsc.length;
  if (n === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sortedAsc[rank - 1];
}

export interface LatencySummary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  return {
    count: n,
    min: n ? sorted[0] : Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: n ? sorted[n - 1] : Number.NaN,
    mean: n ? sum / n : Number.NaN,
  };
}

/** A growable Float64 list for many latency samples without boxing each number. */
export class SampleList {
  private data = new Float64Array(1024);
  private n = 0;
  push(v: number): void {
    if (this.n === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.n++] = v;
  }
  get length(): number {
    return this.n;
  }
  values(): Float64Array {
    return this.data.subarray(0, this.n);
  }
  clear(): void {
    this.n = 0;
  }
}

/** a ÷ b, or NaN when b is not positive. */
export function ratio(a: number, b: number): number {
  return b > 0 ? a / b : Number.NaN;
}

// ---- formatting ------------------------------------------------------------------------------------

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

/** A number with `digits` decimals, or "n/a" for NaN/±Infinity. */
export function fmt(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** met / missed / n/a for a target check. */
export function verdict(ok: boolean | undefined): string {
  return ok === undefined ? 'n/a' : ok ? 'met' : 'MISSED';
}

export type Cell = string | number | boolean | null | undefined;

/** A GitHub markdown table; columns from the first row's keys (or `columns`). Pipes in cells are escaped. */
export function markdownTable(rows: ReadonlyArray<Readonly<Record<string, Cell>>>, columns?: readonly string[]): string {
  if (rows.length === 0) return '_(no rows)_';
  const cols = columns ?? Object.keys(rows[0]);
  const cell = (v: Cell) => (v === null || v === undefined ? '' : typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'n/a') : String(v)).replaceAll('|', '\\|').replaceAll('\n', ' ');
  const lines = [`| ${cols.map((c) => cell(c)).join(' | ')} |`, `| ${cols.map(() => '---').join(' | ')} |`];
  for (const row of rows) lines.push(`| ${cols.map((c) => cell(row[c])).join(' | ')} |`);
  return lines.join('\n');
}

// ---- RESULTS.md ------------------------------------------------------------------------------------

const startMarker = (name: string) => `<!-- bench:${name} -->`;
const endMarker = (name: string) => `<!-- /bench:${name} -->`;

export const RESULTS_HEADER = `# Benchmark results

Written by the scripts in bench/ (\`npm run bench\`, or one benchmark with \`npm run bench:<name>\`; see
bench/README.md). Each section is replaced by the next run of its benchmark and says when, on which
machine and with which command it ran. Sections marked **SMOKE RUN** come from \`--quick\` runs with
small parameters: they show that the benchmark works, not what the system can do.
`;

/** The file as it starts: the header and one placeholder per benchmark, in the canonical order. */
export function resultsSkeleton(): string {
  const parts = [RESULTS_HEADER];
  for (const b of BENCHMARKS) parts.push(`${startMarker(b.name)}\n## ${b.title}\n\n_Not run yet._\n${endMarker(b.name)}\n`);
  return parts.join('\n');
}

/**
 * Puts `body` as the section of benchmark `name` into `doc`: replaces the text between its markers
 * when they are there (markers included), else appends the section at the end. Other text is kept
 * byte for byte. Throws when the markers are there but broken (an end before its start, or twice).
 */
export function upsertSection(doc: string, name: string, body: string): string {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`section name must be kebab-case (got "${name}")`);
  const start = startMarker(name);
  const end = endMarker(name);
  const section = `${start}\n${body.trim()}\n${end}`;
  const s = doc.indexOf(start);
  const e = doc.indexOf(end);
  if (s === -1 && e === -1) {
    const base = doc.trimEnd();
    return `${base}${base ? '\n\n' : ''}${section}\n`;
  }
  if (s === -1 || e === -1 || e < s || doc.indexOf(start, s + 1) !== -1 || doc.indexOf(end, e + 1) !== -1) {
    throw new Error(`bench/RESULTS.md: the markers of section "${name}" are broken; fix them by hand`);
  }
  return doc.slice(0, s) + section + doc.slice(e + end.length);
}

export interface SectionInput {
  name: BenchName;
  /** Markdown: tables, targets, notes (without the title and run line: added here). */
  body: string;
  quick: boolean;
  command: string;
  date?: Date;
  machine?: MachineInfo;
}

/** The whole section text: title, SMOKE RUN banner when quick, when/where/how, then the body. */
export function renderSection(input: SectionInput): string {
  const title = BENCHMARKS.find((b) => b.name === input.name)?.title ?? input.name;
  const date = (input.date ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const lines = [`## ${title}`, ''];
  if (input.quick) {
    lines.push('> **SMOKE RUN** (`--quick`: small counts and short windows). These figures only show that the benchmark works;', '> replace them with a full run before reading anything into them.', '');
  }
  lines.push(`- Run: ${date}`, `- Machine: ${describeMachine(input.machine ?? machineInfo())}`, `- Command: \`${input.command}\``, '', input.body.trim());
  return lines.join('\n');
}

/** Replaces (or adds) this benchmark's section in bench/RESULTS.md, creating the file when missing. */
export function writeResultsSection(input: SectionInput, file: string = RESULTS_PATH): void {
  let doc: string;
  try {
    doc = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    doc = resultsSkeleton();
  }
  const next = upsertSection(doc, input.name, renderSection(input));
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, next);
  renameSync(tmp, file);
  console.log(`\nresults: section "${input.name}" written to ${path.relative(process.cwd(), file) || file}`);
}

// ---- small async helpers ---------------------------------------------------------------------------

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a truthy value; throws after `timeoutMs` naming `what`. */
export async function waitUntil<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}
