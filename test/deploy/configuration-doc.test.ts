// docs/configuration.md checked against the code, so the reference cannot drift: every variable the
// hub, the collector, the Worker and docker-compose.yml read has a row (and no row names a variable
// nobody reads), flags are the ones the parsers accept, and each documented default is what the code
// does when the variable is unset. The README's short table must agree with the reference.
// (.env.example is checked against the same variable lists in compose.test.ts.)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { COLLECTOR_ENV_VARIABLES, COLLECTOR_FLAGS, parseCollectorConfig } from '../../collector/config.ts';
import { HUB_ENV_VARIABLES, parseHubConfig } from '../../hub/config.ts';
import { parseRelayConfig, RELAY_DEFAULTS } from '../../durable-objects/relay-config.ts';
import { referencedVariables } from '../support/deploy-files.ts';
import { ROOT } from '../support/hub-process.ts';

type Component = 'hub' | 'collector' | 'Worker' | 'compose';
interface Row {
  variable: string;
  flag: string;
  component: Component;
  default: string;
  meaning: string;
}

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** Cells of a Markdown table row (`\|` inside a cell is not a separator). */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** The rows of the first table after `heading` whose first cell is a `CODE` variable name. */
function tableAfter(markdown: string, heading: RegExp): string[][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => heading.test(l));
  if (start < 0) throw new Error(`no heading ${heading}`);
  const rows: string[][] = [];
  let inTable = false;
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('#')) break;
    if (line.startsWith('|')) {
      inTable = true;
      const row = cells(line);
      if (/^`[A-Z][A-Z0-9_]*`$/.test(row[0])) rows.push(row);
    } else if (inTable) break;
  }
  return rows;
}

/** The default's literal when the cell starts with a code span (`8000` …), else undefined. */
function literalDefault(cell: string): string | undefined {
  return /^`([^`]*)`/.exec(cell)?.[1];
}

const doc = read('docs/configuration.md');
const rows: Row[] = tableAfter(doc, /^## All settings/).map(([variable, flag, component, def, meaning]) => ({
  variable: variable.slice(1, -1),
  flag,
  component: component as Component,
  default: def,
  meaning,
}));
const rowsOf = (component: Component) => rows.filter((r) => r.component === component);
const names = (list: readonly Row[]) => list.map((r) => r.variable).sort();

/** Fails with the variables missing from the table and the ones it lists that nobody reads. */
function expectSameVariables(documented: readonly string[], read: readonly string[]): void {
  expect({ missingFromDoc: read.filter((v) => !documented.includes(v)), readByNobody: documented.filter((v) => !read.includes(v)) }).toEqual({ missingFromDoc: [], readByNobody: [] });
}

/** Every variable parseRelayConfig looks at, recorded through a proxy. */
function relayVariablesRead(): string[] {
  const seen = new Set<string>();
  parseRelayConfig(
    new Proxy({} as Record<string, unknown>, {
      get(_target, key) {
        if (typeof key === 'string') seen.add(key);
        return undefined;
      },
    }),
  );
  return [...seen];
}

/** The Worker's Env: string fields (variables and secrets) and bindings (everything else), from the
 *  generated worker/worker-configuration.d.ts and the secrets in worker/env-unlisted.d.ts. */
function workerEnvFields(): { strings: string[]; bindings: string[] } {
  const generated = /interface __BaseEnv_Env \{([\s\S]*?)\n\}/.exec(read('worker/worker-configuration.d.ts'))![1];
  const secrets = /interface Env \{([\s\S]*?)\n\}/.exec(read('worker/env-unlisted.d.ts'))![1];
  const body = `${generated}\n${secrets}`;
  const strings: string[] = [];
  const bindings: string[] = [];
  for (const m of body.matchAll(/^\s*([A-Z][A-Z0-9_]*)\??:\s*([^;]+);/gm)) (m[2].trim() === 'string' ? strings : bindings).push(m[1]);
  return { strings, bindings };
}

/** `[vars]` of wrangler.toml: NAME = "value" lines up to the next table header. */
function wranglerVars(): Record<string, string> {
  const section = /^\[vars\]\n([\s\S]*?)(?=^\[)/m.exec(read('wrangler.toml'))![1];
  return Object.fromEntries([...section.matchAll(/^([A-Z][A-Z0-9_]*)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1], m[2]]));
}

const composeText = read('docker-compose.yml');
const composeOnly = [...referencedVariables(composeText)].filter((v) => !HUB_ENV_VARIABLES.includes(v) && !COLLECTOR_ENV_VARIABLES.includes(v));
const HOST = { hostname: 'doc-host' };

describe('docs/configuration.md', () => {
  test('one table with the columns variable, flag, component, default, meaning; one row per variable and component', () => {
    expect(cells(doc.split('\n').find((l) => l.startsWith('| variable '))!)).toEqual(['variable', 'flag', 'component', 'default', 'meaning']);
    expect(rows.length).toBeGreaterThan(50);
    for (const r of rows) {
      expect(['hub', 'collector', 'Worker', 'compose'], r.variable).toContain(r.component);
      expect(r.meaning.length, r.variable).toBeGreaterThan(10);
    }
    const keys = rows.map((r) => `${r.component}:${r.variable}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });

  test('the hub: exactly the variables of HUB_ENV_VARIABLES, each with its --flag', () => {
    expectSameVariables(names(rowsOf('hub')), HUB_ENV_VARIABLES);
    for (const r of rowsOf('hub')) expect(r.flag, r.variable).toBe('`--' + r.variable.toLowerCase().replaceAll('_', '-') + '`');
    // …and the parser takes that flag.
    for (const r of rowsOf('hub')) {
      const literal = literalDefault(r.default);
      if (literal !== undefined) expect(() => parseHubConfig([r.flag.slice(1, -1), literal], {}), r.variable).not.toThrow();
    }
  });

  test('the collector: exactly the variables of COLLECTOR_ENV_VARIABLES, with the flags the parser knows', () => {
    expectSameVariables(names(rowsOf('collector')), COLLECTOR_ENV_VARIABLES);
    const flagOf = (variable: string) => (variable === 'LABELS' ? 'label' : Object.keys(COLLECTOR_FLAGS).find((f) => COLLECTOR_FLAGS[f] === variable));
    for (const r of rowsOf('collector')) {
      const flag = flagOf(r.variable);
      expect(r.flag, r.variable).toBe(flag ? '`--' + flag + '`' : '—');
    }
  });

  test('the Worker: exactly the variables and secrets it reads; wrangler.toml [vars] are among them, secrets are not', () => {
    const { strings, bindings } = workerEnvFields();
    const readByRelay = relayVariablesRead();
    expect(readByRelay.filter((v) => !strings.includes(v))).toEqual([]); // Env declares what the relay parses
    expectSameVariables(names(rowsOf('Worker')), [...new Set([...strings, ...readByRelay])]);
    // Every env.NAME the Worker and its objects touch is a binding or a documented variable.
    const touched = new Set(
      ['worker/index.ts', 'durable-objects/relay-shards.ts', 'durable-objects/fleet-relay.ts', 'durable-objects/fleet-coordinator.ts'].flatMap((f) => [...read(f).matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)].map((m) => m[1])),
    );
    expect([...touched].filter((v) => !bindings.includes(v) && !names(rowsOf('Worker')).includes(v))).toEqual([]);
    const vars = wranglerVars();
    expect(Object.keys(vars).filter((v) => !names(rowsOf('Worker')).includes(v))).toEqual([]);
    expect(vars).not.toHaveProperty('HUB_TOKEN');
    expect(rowsOf('Worker').find((r) => r.variable === 'HUB_TOKEN')!.meaning).toMatch(/wrangler secret put HUB_TOKEN/);
    for (const r of rowsOf('Worker')) expect(r.flag, r.variable).toBe('—');
  });

  test('compose: the variables only docker-compose.yml reads', () => {
    expect(composeOnly.length).toBeGreaterThan(0);
    expectSameVariables(names(rowsOf('compose')), composeOnly);
  });

  test('documented defaults are what the code does without the variable', () => {
    const hubDefault = parseHubConfig([], {});
    const collectorDefault = parseCollectorConfig([], {}, HOST);
    // Defaults that are not a literal: described in words.
    const described = new Set(['collector:MACHINE_ID', 'collector:MACHINE_NAME']);
    for (const r of rows) {
      const literal = literalDefault(r.default);
      const label = `${r.component} ${r.variable} default ${r.default}`;
      if (literal === undefined) {
        if (!described.has(`${r.component}:${r.variable}`)) expect(r.default, label).toMatch(/^—/);
        continue;
      }
      if (r.component === 'hub') expect(parseHubConfig([], { [r.variable]: literal }), label).toEqual(hubDefault);
      if (r.component === 'collector') expect(parseCollectorConfig([], { [r.variable]: literal }, HOST), label).toEqual(collectorDefault);
      if (r.component === 'Worker') expect(parseRelayConfig({ [r.variable]: literal }), label).toEqual(RELAY_DEFAULTS);
      if (r.component === 'compose') expect(composeText, label).toContain('${' + r.variable + ':-' + literal + '}');
    }
    for (const r of rowsOf('compose')) if (/required/.test(r.default)) expect(composeText, r.variable).toContain('${' + r.variable + ':?');
    expect(parseCollectorConfig([], {}, HOST)).toMatchObject({ machineId: HOST.hostname, displayName: HOST.hostname });
  });

  test('wrangler.toml [vars] hold the documented defaults', () => {
    const vars = wranglerVars();
    for (const [name, value] of Object.entries(vars)) expect(literalDefault(rowsOf('Worker').find((r) => r.variable === name)!.default), name).toBe(value);
    expect(parseRelayConfig(vars)).toEqual(RELAY_DEFAULTS);
  });

  test('the retention order it states is checked when the configuration is read', () => {
    expect(rowsOf('hub').find((r) => r.variable === 'RETENTION_RAW_DAYS')!.meaning).toMatch(/≤ `RETENTION_1M_DAYS` ≤ `RETENTION_1H_DAYS`/);
    expect(() => parseHubConfig([], { RETENTION_RAW_DAYS: '100' })).toThrow(/RETENTION_RAW_DAYS \(100\) ≤ RETENTION_1M_DAYS \(90\)/);
    expect(() => parseHubConfig([], { RETENTION_1M_DAYS: '1000' })).toThrow(/RETENTION_1H_DAYS \(730\)/);
    expect(parseHubConfig([], { RETENTION_RAW_DAYS: '90', RETENTION_1M_DAYS: '90', RETENTION_1H_DAYS: '90' }).retention).toEqual({ rawDays: 90, oneMinuteDays: 90, oneHourDays: 90 });
  });

  test('an empty value means the default, for the hub and the collector alike', () => {
    const hubDefault = parseHubConfig([], {});
    for (const v of HUB_ENV_VARIABLES) expect(parseHubConfig([], { [v]: '' }), v).toEqual(hubDefault);
    const collectorDefault = parseCollectorConfig([], {}, HOST);
    for (const v of COLLECTOR_ENV_VARIABLES) expect(parseCollectorConfig([], { [v]: '' }, HOST), v).toEqual(collectorDefault);
  });
});

describe('README.md configuration table', () => {
  test('agrees with the reference, and links it', () => {
    const readme = read('README.md');
    expect(readme).toContain('](docs/configuration.md)');
    const short = tableAfter(readme, /^## Configuration/);
    expect(short.length).toBeGreaterThan(5);
    for (const [variable, component, def] of short) {
      const full = rows.find((r) => '`' + r.variable + '`' === variable && r.component === component);
      expect(full, `${variable} (${component})`).toBeDefined();
      expect(def, variable).toBe(full!.default);
    }
  });
});
