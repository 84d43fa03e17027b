// Defence of the local dashboard against the browser it is opened in: a page of another site must not
// drive the hub through the user's browser. Two checks, pure (the HTTP app and the /ws handshake call
// them):
// - Host: the request must name a host the hub is served under — localhost, 127.0.0.1, [::1],
//   HTTP_HOST, the names in ALLOWED_HOSTS — so a DNS-rebinding page (whose requests carry its own
//   domain name) is refused. When HTTP_HOST is a wildcard (0.0.0.0, ::), any IP literal is also
//   accepted: a rebinding attack always carries a name, and a LAN address typed into a browser is one.
// - Origin, on /ws and on every state-changing request (anything but GET/HEAD/OPTIONS, bodyless ones
//   too): when the browser says where the request comes from (Origin, or Sec-Fetch-Site), it must be
//   the hub's own page — the same host and port as Host, or a name in ALLOWED_HOSTS. Scripts and
//   curl send neither header and are not affected.

export interface OriginGuardOptions {
  /** HTTP_HOST, the address the dashboard port binds to. */
  httpHost: string;
  /** ALLOWED_HOSTS: more names the hub is reached under (a reverse proxy's), "*" = any Host. */
  allowedHosts: readonly string[];
}

export interface RequestHeaders {
  host: string | undefined;
  origin: string | undefined;
  secFetchSite: string | undefined;
}

export interface OriginGuard {
  /** Undefined when the Host is one the hub serves, else why not. */
  checkHost(host: string | undefined): string | undefined;
  /** Undefined when the request comes from the hub's own page or from no browser page at all, else why not. */
  checkOrigin(headers: RequestHeaders): string | undefined;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '[::]']);
/** Methods that change nothing; every other one has its Origin checked. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** "Example.COM:8000" → "example.com", "[::1]:8000" → "[::1]"; undefined when it is no host. */
export function hostName(host: string): string | undefined {
  const h = host.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]/\s@]+)(?::(\d{1,5}))?$/.exec(h);
  if (!m) return undefined;
  return m[1].endsWith('.') ? m[1].slice(0, -1) : m[1];
}

/** A bind address or configured name in the form a Host header carries it (IPv6 in brackets). */
function asHostName(name: string): string {
  const n = name.trim().toLowerCase();
  return n.includes(':') && !n.startsWith('[') ? `[${n}]` : n;
}

const isIpLiteral = (name: string) => name.startsWith('[') || /^\d{1,3}(\.\d{1,3}){3}$/.test(name);

/** "host:port" of a Host header with the default port of `scheme` removed, for comparing with an Origin. */
function hostWithPort(host: string, scheme: string): string {
  const h = host.trim().toLowerCase();
  const defaultPort = scheme === 'https:' ? ':443' : ':80';
  return h.endsWith(defaultPort) ? h.slice(0, -defaultPort.length) : h;
}

export function createOriginGuard(options: OriginGuardOptions): OriginGuard {
  const anyHost = options.allowedHosts.includes('*');
  const configured = options.allowedHosts.filter((n) => n !== '*').map(asHostName);
  const served = new Set([...LOOPBACK_NAMES, asHostName(options.httpHost), ...configured]);
  const wildcardBind = WILDCARD_BINDS.has(options.httpHost.trim());
  return {
    checkHost(host) {
      if (anyHost) return undefined;
      const name = host === undefined ? undefined : hostName(host);
      if (name !== undefined && (served.has(name) || (wildcardBind && isIpLiteral(name)))) return undefined;
      return `this hub does not answer to the host ${JSON.stringify(host ?? '')}: use localhost or 127.0.0.1, or add the name to ALLOWED_HOSTS`;
    },
    checkOrigin({ host, origin, secFetchSite }) {
      if (origin === undefined) {
        // No Origin: not a browser, or an old one; Sec-Fetch-Site still tells a cross-site request.
        if (secFetchSite === undefined || secFetchSite === 'same-origin' || secFetchSite === 'none') return undefined;
        return `cross-site request refused (Sec-Fetch-Site: ${secFetchSite})`;
      }
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        return `cross-origin request refused (Origin ${JSON.stringify(origin)})`;
      }
      if (origin !== 'null' && (url.protocol === 'http:' || url.protocol === 'https:')) {
        if (host !== undefined && url.host === hostWithPort(host, url.protocol)) return undefined;
        if (configured.includes(url.hostname)) return undefined;
      }
      return `cross-origin request refused: the Origin ${JSON.stringify(origin)} is not this hub's dashboard`;
    },
  };
}
