// The hub's public views, in one place: the file's views (PUBLIC_VIEWS_FILE, read-only here) and the
// views made through the API (stored in SQL, shared by every replica, re-read every few seconds so a
// change made on another replica is picked up), their link secrets, the revocations the relay has not
// taken yet, and the view salt. The edge forwarder listens to onChange; the REST routes call the
// writes. Errors leave as HttpError (404 unknown, 409 a file view or too many views, 400 invalid).
import { createHash, randomBytes } from 'node:crypto';
import { MAX_VIEWS, parsePublicView, ViewDefinitionError, type PublicViewDefinition } from '../../proto/public-view.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ViewStore } from './view-store.ts';

export type ViewSource = 'file' | 'api';

export interface PublicViewEntry {
  readonly view: PublicViewDefinition;
  readonly source: ViewSource;
  /** The link secret of an `access: link` view (null for public views). Never sent to the relay. */
  readonly secret: string | null;
}

export interface ViewRegistry {
  /** The per-hub secret behind the opaque machine keys. */
  readonly salt: string;
  list(): PublicViewEntry[];
  get(slug: string): PublicViewEntry | undefined;
  /** Deleted views whose revocation the relay has not taken yet. */
  tombstones(): string[];
  /** Creates or replaces an API view (the slug of the path wins); true when it was created. */
  put(slug: string, body: unknown): Promise<{ entry: PublicViewEntry; created: boolean }>;
  remove(slug: string): Promise<void>;
  /** A new link secret: viewers holding the old one are cut off by the relay. */
  rotateKey(slug: string): Promise<PublicViewEntry>;
  /** The relay took the revocation of `slug`. */
  revoked(slug: string): Promise<void>;
  /** Re-reads the shared store now (also done every `pollMs`). */
  refresh(): Promise<void>;
  /** Called after any change of views, secrets or tombstones (from this hub or another replica). */
  onChange(listener: () => void): () => void;
  close(): void;
}

/** A link secret: 192 random bits, URL-safe. */
export function newLinkSecret(): string {
  return randomBytes(24).toString('base64url');
}

/** What the relay gets instead of the secret: lowercase hex SHA-256. */
export function linkKeyHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

const FILE_SLUGS_SETTING = 'file_slugs';
export const DEFAULT_VIEWS_POLL_MS = 5_000;

export async function openViewRegistry(deps: {
  store: ViewStore;
  fileViews: readonly PublicViewDefinition[];
  log: Logger;
  pollMs?: number;
}): Promise<ViewRegistry> {
  const { store, log } = deps;
  const salt = await store.salt(randomBytes(32).toString('base64url'));
  const fileViews = new Map(deps.fileViews.map((v) => [v.slug, v]));
  const listeners = new Set<() => void>();
  let apiViews = new Map<string, PublicViewDefinition>();
  let secrets = new Map<string, string>();
  let tombstones: string[] = [];
  let fingerprint = '';

  // File views with link access get a secret once (kept in the store, so the link survives restarts).
  for (const view of fileViews.values()) {
    if (view.access === 'link') await store.ensureSecret(view.slug, newLinkSecret());
  }
  // A view dropped from the file since the previous start is revoked like a deleted one.
  const before = JSON.parse((await store.readSetting(FILE_SLUGS_SETTING)) ?? '[]') as string[];
  for (const slug of before) if (!fileViews.has(slug)) await store.addTombstone(slug);
  await store.writeSetting(FILE_SLUGS_SETTING, JSON.stringify([...fileViews.keys()].sort()));

  const entry = (view: PublicViewDefinition, source: ViewSource): PublicViewEntry => ({
    view,
    source,
    secret: view.access === 'link' ? (secrets.get(view.slug) ?? null) : null,
  });
  const emit = () => {
    for (const l of listeners) {
      try {
        l();
      } catch (err) {
        log.error({ err }, 'public view listener failed');
      }
    }
  };
  // Reads run one after another: a slow poll that read before a write must not land after the
  // write's own re-read and bring the old state back for a moment.
  let reading: Promise<void> = Promise.resolve();
  const reload = (): Promise<void> => (reading = reading.catch(() => {}).then(readOnce));
  const readOnce = async () => {
    const snap = await store.read();
    const next = new Map<string, PublicViewDefinition>();
    for (const v of snap.views) {
      if (fileViews.has(v.slug)) {
        log.warn({ slug: v.slug }, 'a stored public view has the slug of a PUBLIC_VIEWS_FILE view; the file wins');
        continue;
      }
      next.set(v.slug, v);
    }
    const tomb = snap.tombstones.filter((s) => !fileViews.has(s) && !next.has(s));
    const print = JSON.stringify([[...next.values()], [...snap.secrets].sort(), tomb]);
    apiViews = next;
    secrets = snap.secrets;
    tombstones = tomb;
    if (print !== fingerprint) {
      fingerprint = print;
      emit();
    }
  };
  await reload();

  const poll = setInterval(() => {
    reload().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not re-read the public views'));
  }, deps.pollMs ?? DEFAULT_VIEWS_POLL_MS);
  poll.unref();

  const list = () => [...[...fileViews.values()].map((v) => entry(v, 'file')), ...[...apiViews.values()].map((v) => entry(v, 'api'))].sort((a, b) => (a.view.slug < b.view.slug ? -1 : 1));
  const get = (slug: string) => {
    const f = fileViews.get(slug);
    if (f) return entry(f, 'file');
    const a = apiViews.get(slug);
    return a ? entry(a, 'api') : undefined;
  };
  const fileConflict = (slug: string) => conflict(`public view "${slug}" comes from PUBLIC_VIEWS_FILE; change it there`);

  return {
    salt,
    list,
    get,
    tombstones: () => [...tombstones],
    async put(slug, body) {
      if (fileViews.has(slug)) throw fileConflict(slug);
      const raw = typeof body === 'object' && body !== null && !Array.isArray(body) ? { slug, ...(body as Record<string, unknown>) } : body;
      if (typeof raw === 'object' && raw !== null && (raw as { slug?: unknown }).slug !== slug) throw badRequest(`view.slug: "${String((raw as { slug?: unknown }).slug)}" differs from the path ("${slug}")`);
      let view: PublicViewDefinition;
      try {
        view = parsePublicView(raw);
      } catch (err) {
        if (err instanceof ViewDefinitionError) throw badRequest(err.message);
        throw err;
      }
      await reload();
      const created = !apiViews.has(slug);
      if (created && fileViews.size + apiViews.size >= MAX_VIEWS) throw conflict(`at most ${MAX_VIEWS} public views`);
      const previous = secrets.get(slug);
      const secret = view.access === 'link' ? (previous ?? newLinkSecret()) : null;
      await store.put(view, secret);
      await reload();
      log.info({ slug, created, access: view.access }, created ? 'public view created' : 'public view changed');
      return { entry: get(slug)!, created };
    },
    async remove(slug) {
      if (fileViews.has(slug)) throw fileConflict(slug);
      if (!(await store.remove(slug))) throw notFound(`no public view "${slug}"`);
      log.info({ slug }, 'public view deleted; revoking it at the edge');
      await reload();
    },
    async rotateKey(slug) {
      const current = get(slug);
      if (!current) throw notFound(`no public view "${slug}"`);
      if (current.view.access !== 'link') throw badRequest(`public view "${slug}" has access "public": there is no link secret to rotate (set access: link)`);
      await store.setSecret(slug, newLinkSecret());
      log.info({ slug }, 'public view link rotated');
      await reload();
      return get(slug)!;
    },
    async revoked(slug) {
      await store.clearTombstone(slug);
      await reload();
    },
    refresh: reload,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      clearInterval(poll);
      listeners.clear();
    },
  };
}
