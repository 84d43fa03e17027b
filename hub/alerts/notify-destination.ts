// Where notifications may go: a webhook URL must not lead the hub to itself or into the owner's
// network (loopback, link-local, private, CGNAT, multicast, reserved ranges, and IPv6 forms that embed
// such an IPv4 address) unless NOTIFY_ALLOW_PRIVATE=1. Checked when a channel or rule is saved (a
// literal address, "localhost", and what the name resolves to then) and again at every send, on the
// addresses the connection actually uses (the lookup handed to http.request), so a name that
// resolves elsewhere later is refused too. The resolver is injectable: tests never ask real DNS.
import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import { ipv6Groups } from '../../proto/address-group.ts';

export type Resolve = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

const systemResolve: Resolve = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

function privateV4(o: number[]): boolean {
  const [a, b] = o;
  return (
    a === 0 || a === 10 || a === 127 || a >= 224 || // this network, private, loopback, multicast + reserved + broadcast
    (a === 100 && b >= 64 && b < 128) || // CGNAT
    (a === 169 && b === 254) || // link-local (cloud metadata lives here)
    (a === 172 && b >= 16 && b < 32) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && o[2] === 0) || // IETF protocol assignments
    (a === 198 && (b === 18 || b === 19)) // benchmarking
  );
}

/** True for an address a notification must not be sent to; also for anything that is not an address. */
export function isPrivateAddress(address: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (v4) {
    const o = v4.slice(1).map(Number);
    return o.some((x) => x > 255) || privateV4(o);
  }
  const g = ipv6Groups(address.replace(/^\[|\]$/g, ''));
  if (!g) return true;
  const embedded = [g[6] >> 8, g[6] & 255, g[7] >> 8, g[7] & 255];
  if (g.slice(0, 6).every((x) => x === 0)) return true; // ::, ::1, IPv4-compatible
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return privateV4(embedded); // IPv4-mapped
  if (g[0] === 0x64 && g[1] === 0xff9b) return privateV4(embedded); // NAT64
  if (g[0] === 0x2002) return privateV4([g[1] >> 8, g[1] & 255, g[2] >> 8, g[2] & 255]); // 6to4
  return (g[0] & 0xffc0) === 0xfe80 || (g[0] & 0xfe00) === 0xfc00 || (g[0] & 0xff00) === 0xff00 || (g[0] === 0x2001 && g[1] === 0xdb8);
}

export interface DestinationGuard {
  /** Undefined when `url` may be saved as a notification target, else why not. */
  check(url: string): Promise<string | undefined>;
  /** For http.request: resolves like the system and refuses private addresses; undefined when allowed. */
  readonly lookup: LookupFunction | undefined;
}

const REFUSAL = 'points at a loopback, link-local or private address (set NOTIFY_ALLOW_PRIVATE=1 on the hub to allow it)';

export function createDestinationGuard(options: { allowPrivate: boolean; resolve?: Resolve }): DestinationGuard {
  const resolve = options.resolve ?? systemResolve;
  if (options.allowPrivate) return { check: async () => undefined, lookup: undefined };
  const lookup: LookupFunction = (hostname, opts, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const bad = addresses.find((a) => isPrivateAddress(a.address));
        if (addresses.length === 0 || bad) {
          const err = Object.assign(new Error(`${hostname} resolves to ${bad?.address ?? 'nothing'}, which ${REFUSAL}`), { code: 'EPRIVATEADDRESS' });
          return callback(err, '', 4);
        }
        if ((opts as { all?: boolean }).all) return (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
        callback(null, addresses[0].address, addresses[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 4),
    );
  };
  return {
    lookup,
    async check(url) {
      let host: string;
      try {
        host = new URL(url).hostname.toLowerCase();
      } catch {
        return 'is not a URL';
      }
      const literal = host.startsWith('[') || /^[\d.]+$/.test(host);
      if (literal) return isPrivateAddress(host) ? `${host} ${REFUSAL}` : undefined;
      if (host === 'localhost' || host.endsWith('.localhost')) return `${host} ${REFUSAL}`;
      let addresses: Array<{ address: string }>;
      try {
        addresses = await resolve(host);
      } catch {
        return undefined; // not resolvable now: checked again at every send
      }
      const bad = addresses.find((a) => isPrivateAddress(a.address));
      return bad ? `${host} resolves to ${bad.address}, which ${REFUSAL}` : undefined;
    },
  };
}
