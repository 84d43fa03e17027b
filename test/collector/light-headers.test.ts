// LightHeaders (collector/light-headers.ts), the collector bundle's global Headers, against Node's own
// (undici's) on random sequences of operations, and that the bundle really spares the process undici:
// the built collector started for real never loads it, and still streams to a hub (bundle-main.test.ts).
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { installLightHeaders, LightHeaders } from '../../collector/light-headers.ts';
import { buildCollector } from '../../scripts/build.ts';
import { tempDir } from '../support/servers.ts';

type Op = { op: 'append' | 'set'; name: string; value: string } | { op: 'delete'; name: string };

const NAMES = ['content-type', 'Content-Type', 'grpc-status', 'GRPC-Message', 'set-cookie', 'Set-Cookie', 'x-a', 'x-b', 'te', 'bad name', 'é'];
const VALUES = ['application/grpc', ' padded\t', 'a, b', '', 'trailers', 'x\r\ny', 'v\0', 'ünïcode'];
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constantFrom('append' as const, 'set' as const), name: fc.constantFrom(...NAMES), value: fc.constantFrom(...VALUES) }),
  fc.record({ op: fc.constant('delete' as const), name: fc.constantFrom(...NAMES) }),
);

/** Runs the operations; what each returned (or that it threw a TypeError) and the final contents. */
function run(make: () => Headers | LightHeaders, ops: Op[]) {
  const h = make();
  const outcomes = ops.map((o) => {
    try {
      if (o.op === 'delete') h.delete(o.name);
      else h[o.op](o.name, o.value);
      return 'ok';
    } catch (err) {
      return (err as Error).constructor.name;
    }
  });
  const gets = NAMES.map((n) => {
    try {
      return [h.get(n), h.has(n)];
    } catch (err) {
      return (err as Error).constructor.name;
    }
  });
  const forEach: string[] = [];
  h.forEach((value, name) => forEach.push(`${name}=${value}`));
  return { outcomes, gets, entries: [...h.entries()], keys: [...h.keys()], values: [...h.values()], forEach, cookies: h.getSetCookie() };
}

describe('LightHeaders behaves as Node’s Headers', () => {
  it('on random sequences of append / set / delete (names in any case, bad names and values, set-cookie)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
        expect(run(() => new LightHeaders(), ops)).toEqual(run(() => new Headers(), ops));
      }),
      { numRuns: 500 },
    );
  });

  it('built from another Headers, pairs or a record, like Connect builds them', () => {
    const inits: unknown[] = [
      { 'Content-Type': 'application/grpc', 'grpc-timeout': '5S' },
      [['x-a', '1'], ['X-A', '2'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']],
      new Headers([['te', 'trailers']]),
      {},
      undefined,
    ];
    for (const init of inits) {
      const light = new LightHeaders(init instanceof Headers ? new LightHeaders([...init]) : (init as never));
      const node = new Headers(init as HeadersInit);
      expect([...light], JSON.stringify(init)).toEqual([...node]);
    }
    expect(() => new LightHeaders([['only-a-name']] as never)).toThrow(TypeError);
    expect(() => new Headers([['only-a-name']] as never)).toThrow(TypeError);
    expect(String(new LightHeaders())).toBe(String(new Headers()));
  });

  it('installs by assignment', () => {
    const target: { Headers?: unknown } = {};
    installLightHeaders(target);
    expect(target.Headers).toBe(LightHeaders);
  });
});

describe('the collector bundle', () => {
  it('never loads undici (the global Headers is LightHeaders, node:http is taken without an ESM import)', async () => {
    const dir = tempDir('light-headers-bundle');
    try {
      const built = await buildCollector(path.join(dir.path, 'dist'));
      const script = `const m = await import(${JSON.stringify(built.file)});
        const c = await m.startCollector(['--hub', 'http://127.0.0.1:9', '--id', 'undici-check', '--data-dir', ${JSON.stringify(path.join(dir.path, 'data'))}, '--interval', '0.2'], { LOG_LEVEL: 'silent', TOP_PROCESSES: '3', SMART_INTERVAL: '0', DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
        await new Promise((r) => setTimeout(r, 1500));
        await c.close();
        console.log(JSON.stringify({ undici: process.moduleLoadList.filter((x) => x.includes('undici')), headers: globalThis.Headers.name }));`;
      // The ESM bundle, and the CommonJS one that bin/collector.cjs runs (a require, then the same body).
      const cjsScript = script.replace(`const m = await import(${JSON.stringify(built.file)});`, `const m = require(${JSON.stringify(built.file.replace(/\.mjs$/, '.cjs'))});`);
      for (const [inputType, body] of [['module', script], ['commonjs', `(async () => { ${cjsScript} })()`]] as const) {
        const r = spawnSync(process.execPath, [`--input-type=${inputType}`, '-e', body], { encoding: 'utf8', timeout: 30_000 });
        expect(r.status, r.stderr).toBe(0);
        const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { undici: string[]; headers: string };
        expect(out.undici, inputType).toEqual([]);
        // Minified: the class keeps no name of its own, but it is not Node's.
        expect(out.headers).not.toBe('Headers');
      }
    } finally {
      dir.remove();
    }
  }, 60_000);
});
