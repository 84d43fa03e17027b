// Pure pieces of the services source: `systemctl list-units --plain --no-legend` lines and
// `systemctl show --property=…` blocks, as systemd prints them with LC_ALL=C.
import type { ServiceSample } from './sampler.ts';

/** The unit names of `systemctl list-units --all --plain --no-legend` (a leading "●" marks failed units on some versions). */
export function parseListUnits(text: string): string[] {
  const names: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^[\s●*×]+/u, '');
    const name = line.split(/\s+/)[0];
    if (name && /^[A-Za-z0-9@._:\\-]+\.[a-z]+$/.test(name)) names.push(name);
  }
  return names;
}

/** systemd prints 2^64-1 ("infinity") or "[not set]" when it does not track memory. */
function memoryValue(text: string | undefined): number {
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 && n < 2 ** 63 ? n : 0;
}

/** `systemctl show --property=Id,ActiveState,SubState,NRestarts,MemoryCurrent unit…`: blocks separated by blank lines. */
export function parseShowUnits(text: string): ServiceSample[] {
  const out: ServiceSample[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const props = new Map<string, string>();
    for (const line of block.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) props.set(line.slice(0, eq), line.slice(eq + 1));
    }
    const name = props.get('Id');
    if (!name) continue;
    const restarts = Number(props.get('NRestarts'));
    out.push({
      name,
      activeState: props.get('ActiveState') ?? '',
      subState: props.get('SubState') ?? '',
      restarts: Number.isInteger(restarts) && restarts >= 0 ? Math.min(restarts, 2 ** 32 - 1) : 0,
      memoryBytes: memoryValue(props.get('MemoryCurrent')),
    });
  }
  return out;
}
