// A WHATWG `Headers` for the standalone collector. Node's own comes from undici, which it loads whole
// on the first use of the global (or of an ESM import of node:http): 5 MiB of resident memory, a
// twelfth of the collector, for the few header maps the gRPC client (Connect) builds. The collector
// bundle installs this class as the global before anything reads it (collector/bundle-main.ts); the
// hub and `sysmonstm all` keep Node's (Hono's responses need undici's).
// Behaviour follows the Fetch standard for what Connect uses: names are case-insensitive and checked,
// values trimmed and checked, `get` joins repeated values with ", ", iteration is sorted by name with
// set-cookie values one by one. test/collector/light-headers.test.ts compares it with Node's Headers.

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const INVALID_VALUE = /[\0\r\n]/;

type Init = Iterable<readonly [string, string]> | Record<string, string | readonly string[]> | LightHeaders;

function checkedName(name: string): string {
  const n = String(name);
  if (!TOKEN.test(n)) throw new TypeError(`Headers: invalid header name "${n.slice(0, 64)}"`);
  return n.toLowerCase();
}

function checkedValue(value: string): string {
  const v = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  if (INVALID_VALUE.test(v)) throw new TypeError('Headers: invalid header value');
  return v;
}

export class LightHeaders {
  readonly #map = new Map<string, string[]>();

  constructor(init?: Init | null) {
    if (init === undefined || init === null) return;
    if (typeof init !== 'object') throw new TypeError('Headers: init must be an object');
    if (Symbol.iterator in init) {
      for (const pair of init as Iterable<readonly [string, string]>) {
        if (pair === null || typeof pair !== 'object' || (pair as readonly string[]).length !== 2) throw new TypeError('Headers: each init pair must have a name and a value');
        this.append(pair[0], pair[1]);
      }
      return;
    }
    for (const key of Object.keys(init)) this.append(key, String((init as Record<string, unknown>)[key]));
  }

  append(name: string, value: string): void {
    const n = checkedName(name);
    const v = checkedValue(value);
    const list = this.#map.get(n);
    if (list) list.push(v);
    else this.#map.set(n, [v]);
  }

  set(name: string, value: string): void {
    this.#map.set(checkedName(name), [checkedValue(value)]);
  }

  delete(name: string): void {
    this.#map.delete(checkedName(name));
  }

  has(name: string): boolean {
    return this.#map.has(checkedName(name));
  }

  get(name: string): string | null {
    const list = this.#map.get(checkedName(name));
    return list ? list.join(', ') : null;
  }

  getSetCookie(): string[] {
    return [...(this.#map.get('set-cookie') ?? [])];
  }

  /** Sorted by name; repeated values joined, except set-cookie (one entry per value). */
  *entries(): IterableIterator<[string, string]> {
    for (const name of [...this.#map.keys()].sort()) {
      const list = this.#map.get(name)!;
      if (name === 'set-cookie') for (const v of list) yield [name, v];
      else yield [name, list.join(', ')];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  forEach(callback: (value: string, name: string, headers: LightHeaders) => void, thisArg?: unknown): void {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'Headers';
  }
}

/**
 * Makes LightHeaders the global `Headers`. By plain assignment: Node's global is a lazy data property,
 * and reading it, its descriptor, or redefining it with Object.defineProperty loads undici.
 */
export function installLightHeaders(target: { Headers?: unknown } = globalThis as { Headers?: unknown }): void {
  target.Headers = LightHeaders;
}
