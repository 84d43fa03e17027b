// The unit a per-client limit counts: an IPv4 address as it is, an IPv6 address by its /64 prefix
// (one subscriber usually holds a whole /64, so counting single IPv6 addresses lets one client take
// 2^64 slots). IPv4-mapped IPv6 (::ffff:1.2.3.4) counts as its IPv4 address. Pure; shared by the
// hub (/ws, login) and the edge relay (viewer sockets), so both count alike.

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The eight 16-bit groups of an IPv6 address (an embedded dotted IPv4 tail allowed), or undefined. */
export function ipv6Groups(text: string): number[] | undefined {
  let address = text;
  const zone = address.indexOf('%');
  if (zone >= 0) address = address.slice(0, zone);
  const lastColon = address.lastIndexOf(':');
  if (lastColon >= 0 && address.slice(lastColon + 1).includes('.')) {
    // A dotted IPv4 tail (::ffff:1.2.3.4) is two groups written another way.
    const v4 = address.slice(lastColon + 1);
    if (!IPV4.test(v4)) return undefined;
    const o = v4.split('.').map(Number);
    address = `${address.slice(0, lastColon + 1)}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if (!head || !rest) return undefined;
  const given = head.length + rest.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined;
  return [...head, ...new Array<number>(8 - given).fill(0), ...rest];
}

/**
 * The group `address` counts under: "203.0.113.9", "2001:db8:1:2::/64"; undefined when it is neither
 * an IPv4 nor an IPv6 address.
 */
export function addressGroup(address: string): string | undefined {
  if (IPV4.test(address)) return address;
  if (!address.includes(':')) return undefined;
  const groups = ipv6Groups(address);
  if (!groups) return undefined;
  // ::ffff:a.b.c.d is an IPv4 client reached through a dual-stack socket.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}
