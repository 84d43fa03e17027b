// Public views in SQL (the hub's one SqlClient, so every replica on the database shares them): the
// views made through the API, link secrets, revocations not yet taken by the relay, and the view salt.
// Tables from schema/0005_public_views.sql. Rows are validated again when read.
import type { SqlClient } from '../db.ts';
import { parsePublicView, type PublicViewDefinition } from '../../proto/public-view.ts';
import type { Logger } from '../log.ts';

export interface ViewStoreSnapshot {
  views: PublicViewDefinition[];
  secrets: Map<string, string>;
  tombstones: string[];
}

export interface ViewStore {
  /** The hub's view salt: the stored one, or `fresh` stored now (the first hub to start wins). */
  salt(fresh: string): Promise<string>;
  read(): Promise<ViewStoreSnapshot>;
  /** Creates or replaces a view; `secret` (link views) is stored with it, null removes it; a tombstone of the slug goes. */
  put(view: PublicViewDefinition, secret: string | null): Promise<void>;
  /** Deletes a view and its secret, and leaves a tombstone until the relay has taken the revocation. */
  remove(slug: string): Promise<boolean>;
  setSecret(slug: string, secret: string): Promise<void>;
  /** Stores `secret` unless the slug has one; returns the one kept. */
  ensureSecret(slug: string, secret: string): Promise<string>;
  clearTombstone(slug: string): Promise<void>;
  /** A revocation to deliver for a slug that has no stored view (a view dropped from the file). */
  addTombstone(slug: string): Promise<void>;
  readSetting(name: string): Promise<string | undefined>;
  writeSetting(name: string, value: string): Promise<void>;
}

export function createViewStore(db: SqlClient, log: Logger): ViewStore {
  return {
    async salt(fresh) {
      await db.query(`INSERT INTO public_view_settings (name, value) VALUES ('view_salt', $1) ON CONFLICT (name) DO NOTHING`, [fresh]);
      const { rows } = await db.query<{ value: string }>(`SELECT value FROM public_view_settings WHERE name = 'view_salt'`);
      return rows[0].value;
    },
    async read() {
      const views: PublicViewDefinition[] = [];
      const { rows } = await db.query<{ slug: string; definition: unknown }>('SELECT slug, definition FROM public_views ORDER BY slug');
      for (const row of rows) {
        try {
          const raw = typeof row.definition === 'string' ? JSON.parse(row.definition) : row.definition;
          views.push(parsePublicView(raw, `public_views[${row.slug}]`));
        } catch (err) {
          log.error({ slug: row.slug, err: (err as Error).message }, 'a stored public view is invalid; it is not published');
        }
      }
      const secrets = new Map<string, string>();
      for (const r of (await db.query<{ slug: string; secret: string }>('SELECT slug, secret FROM public_view_secrets')).rows) secrets.set(r.slug, r.secret);
      const tombstones = (await db.query<{ slug: string }>('SELECT slug FROM public_view_tombstones ORDER BY slug')).rows.map((r) => r.slug);
      return { views, secrets, tombstones };
    },
    async put(view, secret) {
      await db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO public_views (slug, definition) VALUES ($1, $2::jsonb)
           ON CONFLICT (slug) DO UPDATE SET definition = EXCLUDED.definition, updated_at = now()`,
          [view.slug, JSON.stringify(view)],
        );
        if (secret === null) await tx.query('DELETE FROM public_view_secrets WHERE slug = $1', [view.slug]);
        else
          await tx.query(
            `INSERT INTO public_view_secrets (slug, secret) VALUES ($1, $2) ON CONFLICT (slug) DO UPDATE SET secret = EXCLUDED.secret, rotated_at = now()`,
            [view.slug, secret],
          );
        await tx.query('DELETE FROM public_view_tombstones WHERE slug = $1', [view.slug]);
      });
    },
    async remove(slug) {
      return db.transaction(async (tx) => {
        const { rows } = await tx.query<{ slug: string }>('DELETE FROM public_views WHERE slug = $1 RETURNING slug', [slug]);
        if (rows.length === 0) return false;
        await tx.query('DELETE FROM public_view_secrets WHERE slug = $1', [slug]);
        await tx.query('INSERT INTO public_view_tombstones (slug) VALUES ($1) ON CONFLICT (slug) DO UPDATE SET deleted_at = now()', [slug]);
        return true;
      });
    },
    async setSecret(slug, secret) {
      await db.query(
        `INSERT INTO public_view_secrets (slug, secret) VALUES ($1, $2) ON CONFLICT (slug) DO UPDATE SET secret = EXCLUDED.secret, rotated_at = now()`,
        [slug, secret],
      );
    },
    async ensureSecret(slug, secret) {
      await db.query('INSERT INTO public_view_secrets (slug, secret) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING', [slug, secret]);
      const { rows } = await db.query<{ secret: string }>('SELECT secret FROM public_view_secrets WHERE slug = $1', [slug]);
      return rows[0].secret;
    },
    async clearTombstone(slug) {
      await db.query('DELETE FROM public_view_tombstones WHERE slug = $1', [slug]);
    },
    async addTombstone(slug) {
      await db.query('INSERT INTO public_view_tombstones (slug) VALUES ($1) ON CONFLICT (slug) DO UPDATE SET deleted_at = now()', [slug]);
    },
    async readSetting(name) {
      const { rows } = await db.query<{ value: string }>('SELECT value FROM public_view_settings WHERE name = $1', [name]);
      return rows[0]?.value;
    },
    async writeSetting(name, value) {
      await db.query('INSERT INTO public_view_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value', [name, value]);
    },
  };
}
