import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createJsonLogger, type Logger } from '../../collector/log.ts';

function capture(level: string): { log: Logger; lines: () => any[] } {
  const out: string[] = [];
  const log = createJsonLogger({ name: 'collector', level, write: (line) => out.push(line), now: () => 1700000000000 });
  return { log, lines: () => out.map((l) => (expect(l.endsWith('}\n')).toBe(true), JSON.parse(l))) };
}

describe('createJsonLogger', () => {
  it("writes pino's JSON line format: level, time, pid, hostname, name, the fields, msg", () => {
    const { log, lines } = capture('info');
    log.info({ hub: 'http://h:1', seq: 5n }, 'connected to the hub');
    log.warn('the hub ended the stream; reconnecting');
    expect(lines()).toEqual([
      { level: 30, time: 1700000000000, pid: process.pid, hostname: expect.any(String), name: 'collector', hub: 'http://h:1', seq: 5, msg: 'connected to the hub' },
      { level: 40, time: 1700000000000, pid: process.pid, hostname: expect.any(String), name: 'collector', msg: 'the hub ended the stream; reconnecting' },
    ]);
  });

  it('filters by level; silent writes nothing', () => {
    const warn = capture('warn');
    warn.log.info({ a: 1 }, 'no');
    warn.log.debug('no');
    warn.log.error('yes');
    warn.log.fatal('yes');
    expect(warn.lines().map((l) => l.level)).toEqual([50, 60]);
    const silent = capture('silent');
    silent.log.fatal('no');
    expect(silent.lines()).toEqual([]);
  });

  it('serializes errors as pino does, and survives fields that cannot be serialized', () => {
    const { log, lines } = capture('trace');
    log.error({ err: new TypeError('boom') }, 'failed');
    log.error(new Error('plain'));
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    log.info(circular, 'still logged');
    const [first, second, third] = lines();
    expect(first.err).toMatchObject({ type: 'TypeError', message: 'boom', stack: expect.stringContaining('TypeError: boom') });
    expect(second).toMatchObject({ err: { type: 'Error', message: 'plain' }, msg: 'plain' });
    expect(third).toMatchObject({ msg: 'still logged', logError: expect.stringContaining('not serializable') });
  });

  it('has the same line layout as pino', () => {
    const out: string[] = [];
    const p = pino({ name: 'collector', level: 'info', timestamp: () => ',"time":1700000000000' }, { write: (l: string) => out.push(l) });
    p.info({ a: 1, b: 'x' }, 'm');
    const { log, lines } = capture('info');
    log.info({ a: 1, b: 'x' }, 'm');
    expect(Object.keys(lines()[0])).toEqual(Object.keys(JSON.parse(out[0])));
    expect(lines()[0]).toEqual(JSON.parse(out[0]));
  });
});
