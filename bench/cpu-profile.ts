// Summarises a V8 CPU profile (`node --cpu-prof` → .cpuprofile JSON) into what the benchmarks write
// down where a target is missed: the functions with the most self time, and self time by where the code
// lives (a package in node_modules, Node's internals, this project's files, GC). Pure.
import path from 'node:path';

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface FrameTime {
  frame: string;
  where: string;
  selfMs: number;
  /** Share of the busy time (all samples but "(idle)"). */
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  topFrames: FrameTime[];
  byLocation: Array<{ where: string; selfMs: number; percent: number }>;
}

/** Where a script lives: "pkg:<name>" for node_modules, "node:internal" for Node's own, else its path relative to `root`. */
export function locationOf(url: string, root: string): string {
  if (url === '') return '(native/VM)';
  if (url.startsWith('node:')) return 'node:internal';
  const file = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const nm = file.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const parts = file.slice(nm + '/node_modules/'.length).split('/');
    return `pkg:${parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  return path.isAbsolute(file) ? path.relative(root, file) : file;
}

/** Self time per node in ms: from samples + timeDeltas when present, else hitCount × mean interval. */
export function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  if (profile.samples && profile.timeDeltas && profile.samples.length === profile.timeDeltas.length) {
    // timeDeltas[i] is the time before sample i; attribute the interval after a sample to it.
    for (let i = 0; i < profile.samples.length; i++) {
      const dtUs = profile.timeDeltas[i + 1] ?? 0;
      self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + Math.max(0, dtUs) / 1000);
    }
    return self;
  }
  const hits = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0);
  const perHitMs = hits > 0 ? (profile.endTime - profile.startTime) / 1000 / hits : 0;
  for (const node of profile.nodes) self.set(node.id, (node.hitCount ?? 0) * perHitMs);
  return self;
}

export function summarizeCpuProfile(profile: CpuProfile, options: { root: string; top?: number }): ProfileSummary {
  const self = selfTimes(profile);
  const frames = new Map<string, { frame: string; where: string; selfMs: number }>();
  const locations = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  for (const node of profile.nodes) {
    const ms = self.get(node.id) ?? 0;
    if (ms === 0) continue;
    totalMs += ms;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    const special = functionName.startsWith('(') && url === '';
    const where = special ? functionName : locationOf(url, options.root);
    const name = special ? functionName : url === '' ? `${functionName || '(anonymous)'} (native)` : `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    const f = frames.get(name) ?? { frame: name, where, selfMs: 0 };
    f.selfMs += ms;
    frames.set(name, f);
    locations.set(where, (locations.get(where) ?? 0) + ms);
  }
  const busyMs = totalMs - idleMs;
  const pct = (ms: number) => (busyMs > 0 ? (100 * ms) / busyMs : 0);
  const top = options.top ?? 20;
  return {
    totalMs,
    idleMs,
    busyMs,
    topFrames: [...frames.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top).map((f) => ({ ...f, percent: pct(f.selfMs) })),
    byLocation: [...locations.entries()].map(([where, selfMs]) => ({ where, selfMs, percent: pct(selfMs) })).sort((a, b) => b.selfMs - a.selfMs).slice(0, top),
  };
}
