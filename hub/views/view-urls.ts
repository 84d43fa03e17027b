// Where a view is published, derived from EDGE_URL (the relay's ingest address): wss://x/ingest →
// https://x/v/<slug>, ws:// → http://; a link view's URL carries ?key=<secret>. Also the ingest
// address of one view's socket (EDGE_URL?view=<slug>). Pure.

/** The public page of a view, or undefined without EDGE_URL. */
export function publicViewUrl(edgeUrl: string | undefined, slug: string, secret?: string | null): string | undefined {
  if (!edgeUrl) return undefined;
  const u = new URL(edgeUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  const base = u.pathname.replace(/\/ingest\/?$/, '').replace(/\/+$/, '');
  u.pathname = `${base}/v/${encodeURIComponent(slug)}`;
  u.search = secret ? `?key=${encodeURIComponent(secret)}` : '';
  u.hash = '';
  return u.toString();
}

/** The hub → relay socket of one view. */
export function viewIngestUrl(edgeUrl: string, slug: string): string {
  const u = new URL(edgeUrl);
  u.searchParams.set('view', slug);
  return u.toString();
}
