// Dashboard entry point: the page shell (top bar with connection state and theme toggle), mode
// detection (hub = full, edge = public read-only), the live connection feeding one FleetStore, and the
// router switching between the fleet view and a machine view. On the edge a page is one public view
// (/v/{slug}?key=…, or the default view at /): its title, its metrics, uptime bars and the "live data
// paused" banner come from the relay's `v`, `up` and `h` frames. Bundled by web/build.ts into app.js.
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { el, setAttr, setText } from './dom.ts';
import { createFleetStore } from './fleet-store.ts';
import { createFleetCards } from './fleet-cards.ts';
import { createAlertsPanel } from './alerts-panel.ts';
import { createAlertsStore } from './alerts-store.ts';
import { detectMode, fetchViewInfo, setViewApi, type DashboardMode } from './hub-api.ts';
import { connectLive, liveSocketUrl, type ConnectionState } from './live-connection.ts';
import { createMachinePage, type MachinePage } from './machine-page.ts';
import { createViewState, pausedText, viewLocation } from './public-view.ts';
import { FLEET_HREF, parseRoute, setRouteBase, VIEWS_HREF, type Route } from './route.ts';
import { createViewsPage, type ViewsPage } from './views-page.ts';
import { currentTheme, initTheme, onThemeChange, toggleTheme } from './theme.ts';

initTheme();

const store = createFleetStore();
const where = viewLocation(window.location.pathname, window.location.search);
if (where.slug !== null) setRouteBase('here');
setViewApi(where.apiPrefix, where.key);
const viewState = createViewState();
let mode: DashboardMode = 'edge';
let modeKnown = false;

// ---- shell -----------------------------------------------------------------------------------
const connDot = el('span', { class: 'conn-dot', attrs: { 'aria-hidden': 'true' } });
// The label is announced (polite) when the state changes; the per-second countdown is not.
const connLabel = el('span', { text: 'Connecting…' });
const connCountdown = el('span', { class: 'conn-countdown', attrs: { 'aria-hidden': 'true' } });
const connText = el('span', { class: 'conn-text' }, [connLabel, connCountdown]);
const retry = el('button', { class: 'link-button', text: 'Retry now', attrs: { type: 'button' } });
retry.hidden = true;
const conn = el('div', { class: 'conn', attrs: { role: 'status', 'aria-live': 'polite' } }, [connDot, connText, retry]);
const modeBadge = el('span', { class: 'mode-badge' });
modeBadge.hidden = true;
const viewsLink = el('a', { class: 'link-button views-nav', text: 'Public views', attrs: { href: VIEWS_HREF } });
viewsLink.hidden = true;
const themeButton = el('button', { class: 'icon-button theme-toggle', attrs: { type: 'button' } }, [
  el('span', { class: 'theme-icon', attrs: { 'aria-hidden': 'true' } }),
]);
const updateThemeButton = () => {
  const next = currentTheme() === 'dark' ? 'light' : 'dark';
  setAttr(themeButton, 'aria-label', `Switch to ${next} theme`);
  setAttr(themeButton, 'title', `Switch to ${next} theme`);
};
themeButton.addEventListener('click', () => toggleTheme());
onThemeChange(updateThemeButton);
updateThemeButton();

// Sign-out (hub with a dashboard token): a plain form post, so the hub ends the session and sends the browser to /login.
const signOut = el('form', { class: 'sign-out', attrs: { method: 'post', action: '/logout' } }, [
  el('button', { class: 'link-button', text: 'Sign out', attrs: { type: 'submit' } }),
]);
signOut.hidden = true;
const topbar = el('header', { class: 'topbar' }, [
  el('a', { class: 'brand', attrs: { href: FLEET_HREF } }, [el('span', { class: 'brand-mark', attrs: { 'aria-hidden': 'true' } }), 'sysmonstm']),
  modeBadge,
  viewsLink,
  el('div', { class: 'topbar-spacer' }),
  conn,
  signOut,
  themeButton,
]);
const banner = el('div', { class: 'banner', attrs: { role: 'alert' } });
banner.hidden = true;
// The hub behind a public view went silent: the relay says so (`h`), this says since when.
const paused = el('div', { class: 'paused-banner', attrs: { role: 'status', 'aria-live': 'polite' } });
paused.hidden = true;
const viewTitle = el('h1', { class: 'view-title' });
viewTitle.hidden = true;
const ended = el('div', { class: 'view-ended' });
ended.hidden = true;
// Alerts (active, history, rule editor): hub mode only, above the fleet; hidden on the public edge.
const alertsPanel = el('aside', { class: 'alerts-panel', attrs: { id: 'alerts-panel', 'aria-label': 'Alerts' } });
alertsPanel.hidden = true;
const alertsStore = createAlertsStore();
const nameOf = (id: string) => store.machines.get(id)?.name || id;
const alerts = createAlertsPanel(alertsPanel, { store: alertsStore, nameOf });
const main = el('main', { attrs: { id: 'main', tabindex: '-1' } }, [alertsPanel]);
const skip = el('a', { class: 'skip-link', text: 'Skip to content', attrs: { href: '#main' } });
skip.addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});
document.body.append(skip, topbar, banner, paused, main);

const fleetCards = createFleetCards({ store, mode: () => mode, view: viewState });
main.append(viewTitle, ended, fleetCards.root);

// ---- connection state ------------------------------------------------------------------------
let everLive = false;
let viewChecked = false;
function showEnded(text: string): void {
  live.close();
  setText(ended, text);
  ended.hidden = false;
  fleetCards.root.hidden = true;
  banner.hidden = true;
  paused.hidden = true;
  document.body.dataset.conn = 'ended';
  setText(connLabel, 'Not available');
  setText(connCountdown, '');
  retry.hidden = true;
}
const live = connectLive(store, liveSocketUrl(window.location, where.socketPath), {
  onViewFrame(frame) {
    viewState.apply(frame, Date.now());
    if (frame.t === 'v') {
      setText(viewTitle, frame.title);
      viewTitle.hidden = false;
      if (pageKey === 'fleet') document.title = `${frame.title} · sysmonstm`;
    }
    if (frame.t === 'h') renderPaused();
    else fleetCards.refreshCards(); // the view's metrics or uptime bars changed, not the machines
  },
  onEnded(code) {
    showEnded(code === 4404 ? 'This view was removed by its owner.' : 'The link to this view has changed; ask its owner for the new one.');
  },
});

function renderPaused(): void {
  const text = pausedText(viewState.hub, viewState.relayNow(Date.now()));
  paused.hidden = text === null || !ended.hidden;
  document.body.dataset.hub = text === null ? 'up' : 'paused';
  if (text !== null) setText(paused, text);
}
let lastLiveAtMs = 0;
const TIME = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

function renderConnection(state: ConnectionState): void {
  document.body.dataset.conn = state.kind;
  retry.hidden = state.kind !== 'waiting';
  if (state.kind === 'live') {
    lastLiveAtMs = Date.now();
    setText(connLabel, 'Live');
    setText(connCountdown, '');
    banner.hidden = true;
  } else if (state.kind === 'connecting') {
    setText(connLabel, state.attempt === 0 ? 'Connecting…' : 'Reconnecting…');
    setText(connCountdown, '');
  } else {
    const s = Math.max(1, Math.ceil((state.retryAtMs - Date.now()) / 1000));
    setText(connLabel, 'Offline');
    setText(connCountdown, ` · retry in ${s} s`);
  }
  if (state.kind !== 'live' && store.ready) {
    banner.hidden = false;
    setText(banner, `Connection lost. Showing data as of ${TIME.format(new Date(lastLiveAtMs || Date.now()))}; reconnecting automatically.`);
  }
  fleetCards.refreshEmptyState();
}
live.onState((s) => {
  if (!ended.hidden) return;
  if (s.kind === 'live') everLive = true;
  // A view page that cannot connect at all: ask the API whether the view is there (404 = no such view,
  // revoked, or a wrong key), once, instead of retrying for ever.
  if (s.kind === 'waiting' && !everLive && !viewChecked && (where.slug !== null || (modeKnown && mode === 'edge'))) {
    viewChecked = true;
    void fetchViewInfo()
      .then((info) => {
        if (info === null) showEnded('There is no such view, or this link is not valid (any more).');
      })
      .catch(() => {});
  }
  renderConnection(s);
  if (s.kind === 'live' && !modeKnown) void resolveMode();
});
retry.addEventListener('click', () => live.retryNow());
window.setInterval(() => {
  if (viewState.hub !== null) renderPaused();
  if (!ended.hidden) return;
  if (live.state.kind === 'waiting') renderConnection(live.state);
  else if (live.state.kind === 'live') lastLiveAtMs = Date.now();
}, 1000);
renderConnection(live.state);

// ---- routing ---------------------------------------------------------------------------------
let page: MachinePage | undefined;
let viewsPage: ViewsPage | undefined;
let pageKey = '';
let fleetScrollY = 0;

function render(): void {
  const route: Route = parseRoute(window.location.pathname, window.location.hash);
  const key = route.view === 'machine' ? `${route.id}|${mode}` : route.view === 'views' && mode === 'hub' ? 'views' : 'fleet';
  if (key === pageKey) return;
  const wasFleet = pageKey === 'fleet';
  const previousMachine = pageKey.includes('|') ? pageKey.slice(0, pageKey.indexOf('|')) : undefined;
  pageKey = key;
  alerts.setVisible(route.view === 'fleet' && mode === 'hub');
  page?.destroy();
  page = undefined;
  viewsPage?.destroy();
  viewsPage = undefined;
  if (key === 'views') {
    if (wasFleet) fleetScrollY = window.scrollY;
    fleetCards.setActive(false);
    viewsPage = createViewsPage();
    main.append(viewsPage.root);
    window.scrollTo(0, 0);
  } else if (route.view === 'machine') {
    if (wasFleet) fleetScrollY = window.scrollY;
    fleetCards.setActive(false);
    page = createMachinePage(route.id, { store, mode, alerts: mode === 'hub' ? { store: alertsStore, nameOf } : undefined });
    main.append(page.root);
    window.scrollTo(0, 0);
    (page.root.querySelector('h1') as HTMLElement | null)?.setAttribute('tabindex', '-1');
    if (document.activeElement && document.activeElement !== document.body) (page.root.querySelector('h1') as HTMLElement | null)?.focus({ preventScroll: true });
  } else {
    document.title = viewState.info ? `${viewState.info.title} · sysmonstm` : 'sysmonstm · fleet';
    fleetCards.setActive(true);
    window.scrollTo(0, fleetScrollY);
    if (previousMachine !== undefined) fleetCards.focusMachine(previousMachine);
  }
}

async function resolveMode(): Promise<void> {
  try {
    const detected = await detectMode();
    mode = detected.mode;
    signOut.hidden = !detected.signedIn;
    modeKnown = true;
  } catch {
    mode = 'edge'; // unreachable now; asked again once the live connection is up
  }
  modeBadge.hidden = false;
  viewsLink.hidden = mode !== 'hub';
  setText(modeBadge, mode === 'hub' ? 'Hub' : 'Public · read-only');
  setAttr(modeBadge, 'title', mode === 'hub' ? 'Private hub dashboard: live data and history' : 'Public live view relayed by the edge: read-only, no history');
  pageKey = '';
  render();
  fleetCards.refreshEmptyState();
}

window.addEventListener('hashchange', render);
window.addEventListener('popstate', render);
void resolveMode();
