// The hub's public-views API as the dashboard uses it (hub mode): list, save (PUT), delete and rotate
// a link. Every request carries the admin token the user set (alerts-api.ts keeps it for the tab), so
// the hub also shows the link secrets. A failure throws an Error with the hub's own message.
import { adminToken, ApiError } from './alerts-api.ts';
import type { ViewDefinitionJson } from './view-form.ts';

export interface PublicViewInfo {
  view: ViewDefinitionJson;
  source: 'file' | 'api';
  url: string | null;
  secret?: string | null;
  link?: string | null;
  secretHidden?: boolean;
}

async function request(method: string, path: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const token = adminToken();
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
  if (res.status === 204) return undefined;
  const parsed: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const error = typeof parsed === 'object' && parsed !== null && typeof (parsed as { error?: unknown }).error === 'string' ? (parsed as { error: string }).error : `${method} ${path} answered ${res.status}`;
    throw new ApiError(error, res.status);
  }
  return parsed;
}

const isInfo = (v: unknown): v is PublicViewInfo =>
  typeof v === 'object' && v !== null && typeof (v as PublicViewInfo).view?.slug === 'string' && ((v as PublicViewInfo).source === 'file' || (v as PublicViewInfo).source === 'api');

export async function fetchPublicViews(): Promise<{ edge: string; views: PublicViewInfo[] }> {
  const body = (await request('GET', '/api/public-views')) as { edge?: unknown; views?: unknown };
  if (!Array.isArray(body?.views)) throw new Error('public views: unexpected answer');
  return { edge: typeof body.edge === 'string' ? body.edge : '', views: body.views.filter(isInfo) };
}

export async function savePublicView(view: ViewDefinitionJson): Promise<PublicViewInfo> {
  const body = await request('PUT', `/api/public-views/${encodeURIComponent(view.slug)}`, view);
  if (!isInfo(body)) throw new Error('public view: unexpected answer');
  return body;
}

export async function deletePublicView(slug: string): Promise<void> {
  await request('DELETE', `/api/public-views/${encodeURIComponent(slug)}`);
}

export async function rotatePublicViewKey(slug: string): Promise<PublicViewInfo> {
  const body = await request('POST', `/api/public-views/${encodeURIComponent(slug)}/rotate-key`);
  if (!isInfo(body)) throw new Error('public view: unexpected answer');
  return body;
}
