// The hub's side of the public views at the edge: one forwarder (one WebSocket per relay shard,
// EDGE_URL?view=<slug>&shard=<i>) per view, each reading the fleet through that view's projection, so what a view hides never leaves
// the hub. Follows the view registry at run time: a new view gets a forwarder; a changed title, access
// or link secret resends the config frame; a changed selection, shown fields or precision starts the
// view over with a fresh snapshot; a deleted view is revoked at the edge (its tombstone is cleared once
// the relay took it). With no view, nothing is forwarded.
import { LIVE_METRICS, type LiveMetric } from '../../proto/delta.ts';
import type { PublicViewDefinition } from '../../proto/public-view.ts';
import type { ViewConfigFrame } from '../../proto/view-frames.ts';
import type { Logger } from '../log.ts';
import { createViewProjector } from '../views/view-projection.ts';
import { linkKeyHash, type PublicViewEntry, type ViewRegistry } from '../views/view-registry.ts';
import { viewIngestUrl } from '../views/view-urls.ts';
import type { BackoffOptions } from './backoff.ts';
import { createEdgeForwarder, DEFAULT_BACKOFF, type EdgeForwarder, type EdgeForwarderStats } from './edge-forwarder.ts';
import { revokeAtEdge, type EdgeRevocation } from './edge-revoker.ts';
import { projectFleetSource, type FleetSource, type ProjectedFleetSource } from './fleet-source.ts';

export interface EdgeViewsOptions {
  url: string;
  apiKey: string;
  pushIntervalMs: number;
  maxFrameBytes: number;
  source: FleetSource;
  views: ViewRegistry;
  log: Logger;
  backoff?: BackoffOptions;
  heartbeatMs?: number;
}

export interface EdgeViewStats extends EdgeForwarderStats {
  slug: string;
}

export interface EdgeViews {
  start(): void;
  /** Sums over every view (connected = every shard socket of every view is open; shards = sockets
   *  wanted, shardsConnected = open; shardLinks is per view, in perView()), for /metrics. */
  stats(): EdgeForwarderStats & { views: number; revocationsPending: number };
  perView(): EdgeViewStats[];
  close(): Promise<void>;
}

/** The config frame of a view: what the relay needs to serve it, never the link secret itself. */
export function viewConfigFrame(entry: PublicViewEntry): ViewConfigFrame {
  const { view } = entry;
  return {
    t: 'c',
    slug: view.slug,
    title: view.title,
    access: view.access,
    keyHash: view.access === 'link' && entry.secret ? linkKeyHash(entry.secret) : null,
    metrics: view.show.metrics.map((m: LiveMetric) => LIVE_METRICS.indexOf(m)),
  };
}

/** What decides the published content (a change = a new snapshot), as opposed to the config frame. */
function contentKey(view: PublicViewDefinition): string {
  return JSON.stringify([view.machines, view.show, view.precision]);
}

interface Running {
  forwarder: EdgeForwarder;
  source: ProjectedFleetSource;
  entry: PublicViewEntry;
  config: string;
  content: string;
}

export function createEdgeViews(options: EdgeViewsOptions): EdgeViews {
  const { views, log } = options;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const running = new Map<string, Running>();
  const revoking = new Map<string, EdgeRevocation>();
  let started = false;
  let closed = false;
  let unsubscribe: (() => void) | undefined;

  const startView = (entry: PublicViewEntry) => {
    const slug = entry.view.slug;
    const source = projectFleetSource(options.source, createViewProjector(entry.view, views.salt));
    const state: Running = { entry, source, config: JSON.stringify(viewConfigFrame(entry)), content: contentKey(entry.view), forwarder: undefined! };
    state.forwarder = createEdgeForwarder({
      url: viewIngestUrl(options.url, slug),
      apiKey: options.apiKey,
      pushIntervalMs: options.pushIntervalMs,
      maxFrameBytes: options.maxFrameBytes,
      source,
      log: log.child({ view: slug }),
      backoff,
      heartbeatMs: options.heartbeatMs,
      configFrame: () => state.config,
    });
    running.set(slug, state);
    state.forwarder.start();
  };

  const revoke = (slug: string) => {
    if (revoking.has(slug)) return;
    const r = revokeAtEdge({ url: viewIngestUrl(options.url, slug), apiKey: options.apiKey, slug, log, backoff });
    revoking.set(slug, r);
    void r.done.then(async (taken) => {
      revoking.delete(slug);
      if (!taken) return;
      await views.revoked(slug).catch((err: unknown) => log.warn({ slug, err: (err as Error).message }, 'could not clear the tombstone of a revoked view'));
    });
  };

  const reconcile = () => {
    if (closed) return;
    const wanted = new Map(views.list().map((e) => [e.view.slug, e]));
    for (const [slug, state] of running) {
      if (wanted.has(slug)) continue;
      running.delete(slug);
      void state.forwarder.close();
    }
    for (const [slug, entry] of wanted) {
      revoking.get(slug)?.cancel(); // re-created before the revocation went out
      const state = running.get(slug);
      if (!state) {
        startView(entry);
        continue;
      }
      const config = JSON.stringify(viewConfigFrame(entry));
      const content = contentKey(entry.view);
      state.entry = entry;
      if (content !== state.content) {
        state.content = content;
        state.config = config;
        state.source.setProjector(createViewProjector(entry.view, views.salt));
        state.forwarder.resnapshot();
        log.info({ view: slug }, 'public view changed: sending a fresh snapshot');
      } else if (config !== state.config) {
        state.config = config;
        state.forwarder.reconfigure();
        log.info({ view: slug }, 'public view changed: sending its new config');
      }
    }
    for (const slug of views.tombstones()) if (!wanted.has(slug)) revoke(slug);
  };

  return {
    start() {
      if (started || closed) return;
      started = true;
      unsubscribe = views.onChange(reconcile);
      reconcile();
      if (running.size === 0) log.info('edge: no public view is configured, so nothing is forwarded (add one with PUBLIC_VIEWS_FILE, PUT /api/public-views/{slug} or the dashboard)');
      else log.info({ views: [...running.keys()] }, 'edge: forwarding public views');
    },
    stats() {
      const all = [...running.values()].map((r) => r.forwarder.stats());
      const sum = (k: keyof EdgeForwarderStats) => all.reduce((n, s) => n + (s[k] as number), 0);
      return {
        connected: all.length > 0 && all.every((s) => s.connected),
        connects: sum('connects'),
        disconnects: sum('disconnects'),
        snapshotsSent: sum('snapshotsSent'),
        snapshotPartsSent: sum('snapshotPartsSent'),
        configsSent: sum('configsSent'),
        deltasSent: sum('deltasSent'),
        bytesSent: sum('bytesSent'),
        skippedPushes: sum('skippedPushes'),
        pendingMachines: sum('pendingMachines'),
        lagMs: all.reduce((n, s) => Math.max(n, s.lagMs), 0),
        edgeErrors: sum('edgeErrors'),
        framesRefused: sum('framesRefused'),
        resyncs: sum('resyncs'),
        lastError: all.find((s) => s.lastError !== null)?.lastError ?? null,
        shards: sum('shards'),
        shardsConnected: sum('shardsConnected'),
        shardLinks: [],
        views: all.length,
        revocationsPending: revoking.size,
      };
    },
    perView: () => [...running].map(([slug, r]) => ({ slug, ...r.forwarder.stats() })),
    async close() {
      if (closed) return;
      closed = true;
      unsubscribe?.();
      for (const r of revoking.values()) r.cancel();
      await Promise.all([...running.values()].map((r) => r.forwarder.close()));
      running.clear();
    },
  };
}
