// The memory alert state on disk (`${DATA_DIR}/alert-state.json`), so a single hub without Redis keeps
// its active alerts, silences, acknowledgements and not yet recorded transitions across a restart: a
// silence is still honoured and a firing alert still gets its "resolved".
// - decodeAlertSnapshot is pure and checks every field: a damaged or foreign file is refused with a
//   reason (the hub then starts empty and says so), never half loaded.
// - writeAlertSnapshot writes a temp file, fsyncs it and renames it over the old one: a crash leaves
//   the old or the new file, never a torn one.
import { readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import type { ActiveAlert, MachineRuleStates, OutboxEntry } from './rule-state-store.ts';
import type { AlertPhase, RuleState } from './evaluate.ts';

export const ALERT_STATE_FILE = 'alert-state.json';
const FORMAT = 1;

export interface AlertSnapshot {
  machines: Map<string, MachineRuleStates>;
  active: ActiveAlert[];
  outbox: OutboxEntry[];
}

export function encodeAlertSnapshot(snapshot: AlertSnapshot): string {
  return JSON.stringify({ format: FORMAT, machines: Object.fromEntries(snapshot.machines), active: snapshot.active, outbox: snapshot.outbox });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNumOrNull = (v: unknown) => v === null || isNum(v);
const PHASES: readonly AlertPhase[] = ['ok', 'pending', 'firing'];

function checkState(v: unknown, where: string): RuleState {
  if (!isRecord(v)) throw new Error(`${where} is not an object`);
  if (!PHASES.includes(v.phase as AlertPhase)) throw new Error(`${where}.phase is not ok, pending or firing`);
  for (const k of ['sinceMs', 'lastSampleMs', 'lastNotifiedMs', 'silencedUntilMs'] as const) if (!isNum(v[k])) throw new Error(`${where}.${k} is not a number`);
  if (!isNumOrNull(v.value)) throw new Error(`${where}.value is not a number or null`);
  if (typeof v.notifiedFiring !== 'boolean' || typeof v.acknowledged !== 'boolean') throw new Error(`${where}: notifiedFiring and acknowledged must be booleans`);
  return {
    phase: v.phase as AlertPhase,
    sinceMs: v.sinceMs as number,
    value: v.value as number | null,
    lastSampleMs: v.lastSampleMs as number,
    notifiedFiring: v.notifiedFiring,
    lastNotifiedMs: v.lastNotifiedMs as number,
    acknowledged: v.acknowledged,
    silencedUntilMs: v.silencedUntilMs as number,
  };
}

function checkActive(v: unknown, where: string): ActiveAlert {
  if (!isRecord(v) || typeof v.rule_id !== 'string' || typeof v.machine !== 'string') throw new Error(`${where} needs rule_id and machine`);
  if (v.state !== 'pending' && v.state !== 'firing') throw new Error(`${where}.state is not pending or firing`);
  if (v.severity !== 'warning' && v.severity !== 'critical') throw new Error(`${where}.severity is not warning or critical`);
  if (!isNum(v.since) || !isNumOrNull(v.value) || !isNumOrNull(v.silenced_until) || typeof v.acknowledged !== 'boolean') throw new Error(`${where} has a malformed field`);
  return { rule_id: v.rule_id, machine: v.machine, state: v.state, severity: v.severity, since: v.since, value: v.value as number | null, acknowledged: v.acknowledged, silenced_until: v.silenced_until as number | null };
}

function checkOutbox(v: unknown, where: string): OutboxEntry {
  if (!isRecord(v)) throw new Error(`${where} is not an object`);
  for (const k of ['id', 'ruleId', 'ruleName', 'metric', 'condition', 'machine', 'severity'] as const) if (typeof v[k] !== 'string') throw new Error(`${where}.${k} is not a string`);
  if (!isNum(v.at) || !isNum(v.since) || !isNumOrNull(v.value)) throw new Error(`${where} has a malformed time or value`);
  if (v.state !== undefined && typeof v.state !== 'string') throw new Error(`${where}.state is not a string`);
  if (v.notice !== undefined && v.notice !== 'firing' && v.notice !== 'reminder' && v.notice !== 'resolved') throw new Error(`${where}.notice is not firing, reminder or resolved`);
  if (v.detail !== null && typeof v.detail !== 'string') throw new Error(`${where}.detail is not a string or null`);
  return v as unknown as OutboxEntry;
}

/** Parses a snapshot file's text; throws an Error saying what is wrong. */
export function decodeAlertSnapshot(text: string): AlertSnapshot {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('not valid JSON');
  }
  if (!isRecord(raw) || raw.format !== FORMAT) throw new Error(`not an alert state file of format ${FORMAT}`);
  if (!isRecord(raw.machines) || !Array.isArray(raw.active) || !Array.isArray(raw.outbox)) throw new Error('machines, active and outbox are missing');
  const machines = new Map<string, MachineRuleStates>();
  for (const [id, m] of Object.entries(raw.machines)) {
    if (!isRecord(m) || !Number.isInteger(m.version) || (m.version as number) < 0 || !isRecord(m.rules)) throw new Error(`machines.${id} needs a version and rules`);
    const rules: Record<string, RuleState> = {};
    for (const [ruleId, st] of Object.entries(m.rules)) rules[ruleId] = checkState(st, `machines.${id}.rules.${ruleId}`);
    machines.set(id, { version: m.version as number, rules });
  }
  return {
    machines,
    active: raw.active.map((a, i) => checkActive(a, `active[${i}]`)),
    outbox: raw.outbox.map((e, i) => checkOutbox(e, `outbox[${i}]`)),
  };
}

/** The snapshot in `file`, undefined when there is none yet; throws when it cannot be read or parsed. */
export function readAlertSnapshot(file: string): AlertSnapshot | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return decodeAlertSnapshot(text);
}

/** Replaces `file` atomically with the snapshot (temp file, fsync, rename). */
export async function writeAlertSnapshot(file: string, snapshot: AlertSnapshot): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(encodeAlertSnapshot(snapshot));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}
