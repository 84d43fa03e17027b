// PUBLIC_VIEWS_FILE: YAML and JSON read alike; any problem stops the hub at start with one line that
// names the variable and the field (exit code 2, like every configuration error).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseHubConfig } from '../../../hub/config.ts';
import { runCli } from '../../support/hub-process.ts';
import { tempDir } from '../../support/servers.ts';

const dir = tempDir('views-file');
afterAll(() => dir.remove());
function file(name: string, text: string): string {
  const p = path.join(dir.path, name);
  writeFileSync(p, text);
  return p;
}

const YAML = `
views:
  - slug: status
    title: Public status
    machines: all
  - slug: web
    title: Web servers
    machines:
      labels: {role: web, env: prod}
    show: {hostname: true, metrics: [cpu_percent, memory_percent]}
    precision: {percent: 1}
    access: link
`;

describe('PUBLIC_VIEWS_FILE', () => {
  it('reads YAML and JSON into validated views', () => {
    const c = parseHubConfig([], { PUBLIC_VIEWS_FILE: file('views.yaml', YAML) });
    expect(c.publicViews.map((v) => v.slug)).toEqual(['status', 'web']);
    expect(c.publicViews[0]).toMatchObject({ machines: { all: true }, show: { id: false, hostname: false, labels: false }, access: 'public' });
    expect(c.publicViews[1]).toMatchObject({ machines: { labels: { role: 'web', env: 'prod' } }, show: { hostname: true, metrics: ['cpu_percent', 'memory_percent'] }, precision: { percent: 1 }, access: 'link' });
    const json = parseHubConfig([], { PUBLIC_VIEWS_FILE: file('views.json', JSON.stringify({ views: [{ slug: 'default', machines: { ids: ['a', 'b'] } }] })) });
    expect(json.publicViews[0].machines).toEqual({ ids: ['a', 'b'] });
    expect(parseHubConfig([], {}).publicViews).toEqual([]);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['unknown metric', 'views:\n  - slug: a\n    machines: all\n    show: {metrics: [cpu_percent, bogus]}\n', /PUBLIC_VIEWS_FILE \(.*\): views\[0\]\.show\.metrics\[1\]: unknown metric "bogus"/],
    ['bad slug', 'views:\n  - slug: Not_OK\n    machines: all\n', /views\[0\]\.slug: must match/],
    ['no selector', 'views:\n  - slug: a\n', /views\[0\]\.machines: is required/],
    ['duplicate slug', 'views:\n  - {slug: a, machines: all}\n  - {slug: a, machines: all}\n', /views\[1\]\.slug: "a" is used twice/],
    ['unknown field', 'views:\n  - {slug: a, machines: all, show: {hostnames: true}}\n', /views\[0\]\.show\.hostnames: unknown field/],
    ['broken YAML', 'views: [\n  {slug: a,\n', /PUBLIC_VIEWS_FILE \(.*\): not valid YAML or JSON at line/],
    ['empty file', '', /the file is empty/],
  ];
  for (const [name, text, message] of bad) {
    it(`refuses: ${name}`, () => {
      const p = file(`${name.replace(/\W/g, '-')}.yaml`, text);
      let err: unknown;
      try {
        parseHubConfig([], { PUBLIC_VIEWS_FILE: p });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain('\n');
    });
  }
  it('refuses a missing file', () => {
    expect(() => parseHubConfig([], { PUBLIC_VIEWS_FILE: path.join(dir.path, 'nope.yaml') })).toThrow(/PUBLIC_VIEWS_FILE .*cannot read/);
  });

  it('the hub exits with code 2 and one line on stderr', async () => {
    const p = file('bad-cli.yaml', 'views:\n  - {slug: a, machines: {labels: {env: 3}}}\n');
    const hub = runCli(['hub'], { PUBLIC_VIEWS_FILE: p, DATA_DIR: dir.path, HTTP_PORT: '0', GRPC_PORT: '0' });
    const code = await new Promise((resolve) => hub.child.once('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    const lines = hub.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^sysmonstm hub: invalid hub configuration: PUBLIC_VIEWS_FILE \(.*\): views\[0\]\.machines\.labels\.env: must be a string/);
  });
});
