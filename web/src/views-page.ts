// The hub dashboard's public-views page (`#/views`, hub mode): every view with what it publishes and
// its public URL (the secret link for `access: link` views, when the admin token is set), a form to
// create or change a view, delete (second click confirms) and "rotate link". The file's views are
// listed read-only. The hub validates every change and its message (naming the field) is shown as is.
import { LIVE_METRICS, type LiveMetric } from '../../proto/delta.ts';
import { adminToken, setAdminToken } from './alerts-api.ts';
import { clear, el, setText } from './dom.ts';
import { describeView, emptyViewForm, formToView, viewToForm, type ViewForm } from './view-form.ts';
import { deletePublicView, fetchPublicViews, rotatePublicViewKey, savePublicView, type PublicViewInfo } from './views-api.ts';

export interface ViewsPage {
  readonly root: HTMLElement;
  destroy(): void;
}

let seq = 0;
function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  input.id = `vf-${++seq}`;
  return el('div', { class: 'form-field' }, [el('label', { text: label, attrs: { for: input.id } }), input, hint ? el('span', { class: 'form-hint', text: hint }) : null]);
}
function check(label: string, cls: string): { box: HTMLInputElement; node: HTMLElement } {
  const box = el('input', { class: cls, attrs: { type: 'checkbox' } });
  return { box, node: el('label', { class: 'check' }, [box, ` ${label}`]) };
}

export function createViewsPage(): ViewsPage {
  document.title = 'sysmonstm · public views';
  const message = el('p', { class: 'form-message', attrs: { role: 'alert' } });
  message.hidden = true;
  const say = (text: string, kind: 'error' | 'ok' = 'error') => {
    message.hidden = text === '';
    message.dataset.kind = kind;
    setText(message, text);
  };

  // ---- admin token -----------------------------------------------------------------------------
  const tokenInput = el('input', { class: 'admin-token', attrs: { type: 'password', autocomplete: 'off', spellcheck: 'false', placeholder: 'ADMIN_TOKEN' } });
  tokenInput.value = adminToken();
  const tokenSave = el('button', { class: 'small-button token-save', text: 'Use token', attrs: { type: 'button' } });
  tokenSave.addEventListener('click', () => {
    setAdminToken(tokenInput.value.trim());
    void load();
  });
  const tokenBox = el('div', { class: 'token-box' }, [field('Admin token', tokenInput), tokenSave, el('span', { class: 'form-hint', text: 'Needed for changes and to see secret links, unless you use the hub machine itself and ADMIN_TOKEN is unset.' })]);

  // ---- list --------------------------------------------------------------------------------------
  const edgeState = el('p', { class: 'form-hint views-edge' });
  const list = el('ul', { class: 'rule-list views-list' });
  const empty = el('p', { class: 'alerts-empty', text: 'No public view yet: the hub publishes nothing. Create the first one with “New view”.' });
  const newButton = el('button', { class: 'small-button new-view', text: 'New view', attrs: { type: 'button' } });
  newButton.addEventListener('click', () => openForm(undefined));

  // ---- form --------------------------------------------------------------------------------------
  const slug = el('input', { class: 'vf-slug', attrs: { type: 'text', maxlength: '48', pattern: '[a-z0-9-]{1,48}', spellcheck: 'false', placeholder: 'status' } });
  const title = el('input', { class: 'vf-title', attrs: { type: 'text', maxlength: '120', placeholder: 'Public status' } });
  const selection = el('select', { class: 'vf-selection' }, [el('option', { text: 'every machine', attrs: { value: 'all' } }), el('option', { text: 'machines by id or label', attrs: { value: 'some' } })]);
  const ids = el('input', { class: 'vf-ids', attrs: { type: 'text', spellcheck: 'false', placeholder: 'web-1, web-2' } });
  const labels = el('input', { class: 'vf-labels', attrs: { type: 'text', spellcheck: 'false', placeholder: 'env=prod, role=web' } });
  const showId = check('machine ids', 'vf-show-id');
  const showHostname = check('hostnames', 'vf-show-hostname');
  const showLabels = check('labels', 'vf-show-labels');
  const metricBoxes = new Map<LiveMetric, HTMLInputElement>();
  const metricList = el('div', { class: 'check-list' });
  for (const m of LIVE_METRICS) {
    const c = check(m, `vf-metric vf-metric-${m}`);
    metricBoxes.set(m, c.box);
    metricList.append(c.node);
  }
  const percent = el('select', { class: 'vf-percent' }, [0, 1, 2].map((d) => el('option', { text: d === 0 ? 'whole numbers' : `${d} decimal${d > 1 ? 's' : ''}`, attrs: { value: String(d) } })));
  const access = el('select', { class: 'vf-access' }, [el('option', { text: 'public: anyone with the URL', attrs: { value: 'public' } }), el('option', { text: 'secret link: the URL carries a key', attrs: { value: 'link' } })]);
  const save = el('button', { class: 'small-button primary vf-save', text: 'Save view', attrs: { type: 'submit' } });
  const cancel = el('button', { class: 'small-button vf-cancel', text: 'Cancel', attrs: { type: 'button' } });
  const formTitle = el('h3', { class: 'form-title' });
  const selectors = el('div', { class: 'form-grid' }, [field('Machine ids', ids, 'comma-separated'), field('Labels (all must match)', labels, 'key=value, …')]);
  const form = el('form', { class: 'rule-form view-form', attrs: { novalidate: 'true' } }, [
    formTitle,
    el('div', { class: 'form-grid' }, [field('Slug', slug, 'in the URL: /v/<slug>; "default" is also served at /'), field('Title', title), field('Machines', selection), field('Percent precision', percent), field('Access', access)]),
    selectors,
    el('fieldset', { class: 'channels' }, [el('legend', { text: 'Show besides the display name (hidden by default)' }), el('div', { class: 'check-list' }, [showId.node, showHostname.node, showLabels.node])]),
    el('fieldset', { class: 'channels' }, [el('legend', { text: 'Metrics' }), metricList]),
    el('div', { class: 'form-buttons' }, [save, cancel]),
  ]);
  form.hidden = true;
  let editing: string | undefined;
  const syncSelectors = () => (selectors.hidden = selection.value !== 'some');
  selection.addEventListener('change', syncSelectors);

  const fill = (f: ViewForm) => {
    slug.value = f.slug;
    title.value = f.title;
    selection.value = f.selection;
    ids.value = f.ids;
    labels.value = f.labels;
    showId.box.checked = f.showId;
    showHostname.box.checked = f.showHostname;
    showLabels.box.checked = f.showLabels;
    for (const [m, box] of metricBoxes) box.checked = f.metrics.includes(m);
    percent.value = String(f.percentDigits);
    access.value = f.access;
    syncSelectors();
  };
  const read = (): ViewForm => ({
    slug: slug.value,
    title: title.value,
    selection: selection.value === 'some' ? 'some' : 'all',
    ids: ids.value,
    labels: labels.value,
    showId: showId.box.checked,
    showHostname: showHostname.box.checked,
    showLabels: showLabels.box.checked,
    metrics: [...metricBoxes].filter(([, b]) => b.checked).map(([m]) => m),
    percentDigits: Number(percent.value),
    access: access.value === 'link' ? 'link' : 'public',
  });
  function openForm(info: PublicViewInfo | undefined) {
    editing = info?.view.slug;
    fill(info ? viewToForm(info.view) : emptyViewForm());
    slug.disabled = info !== undefined;
    setText(formTitle, info ? `Change view “${info.view.slug}”` : 'New public view');
    form.hidden = false;
    (info ? title : slug).focus();
  }
  cancel.addEventListener('click', () => {
    form.hidden = true;
    editing = undefined;
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void (async () => {
      try {
        const def = formToView(read());
        if (editing) def.slug = editing;
        const saved = await savePublicView(def);
        form.hidden = true;
        editing = undefined;
        say(`Saved “${saved.view.slug}”. ${saved.url ? `Public at ${saved.link ?? saved.url}` : 'Set EDGE_URL to publish it.'}`, 'ok');
        await load();
      } catch (err) {
        say((err as Error).message);
      }
    })();
  });

  // ---- rendering -----------------------------------------------------------------------------------
  const item = (info: PublicViewInfo): HTMLElement => {
    const v = info.view;
    const actions = el('div', { class: 'alert-actions' });
    const urlLine = el('div', { class: 'view-url' });
    const href = info.link ?? info.url;
    if (href) urlLine.append(el('a', { class: 'view-link', text: href, attrs: { href, target: '_blank', rel: 'noopener noreferrer' } }));
    else if (info.secretHidden) urlLine.append(el('span', { class: 'form-hint', text: 'secret link hidden: set the admin token to see it' }));
    else urlLine.append(el('span', { class: 'form-hint', text: 'not published: the hub has no EDGE_URL' }));
    if (v.access === 'link') {
      const rotate = el('button', { class: 'small-button view-rotate', text: 'Rotate link', attrs: { type: 'button' } });
      rotate.addEventListener('click', () => {
        void rotatePublicViewKey(v.slug)
          .then(async (r) => {
            say(`New link for “${v.slug}”: viewers with the old one are disconnected.${r.link ? ` ${r.link}` : ''}`, 'ok');
            await load();
          })
          .catch((err: Error) => say(err.message));
      });
      actions.append(rotate);
    }
    if (info.source === 'api') {
      const edit = el('button', { class: 'small-button view-edit', text: 'Edit', attrs: { type: 'button' } });
      edit.addEventListener('click', () => openForm(info));
      const del = el('button', { class: 'small-button view-delete', text: 'Delete', attrs: { type: 'button' } });
      let armed = false;
      del.addEventListener('click', () => {
        if (!armed) {
          armed = true;
          setText(del, 'Delete: sure?');
          return;
        }
        void deletePublicView(v.slug)
          .then(async () => {
            say(`Deleted “${v.slug}”: its viewers are disconnected.`, 'ok');
            await load();
          })
          .catch((err: Error) => say(err.message));
      });
      actions.append(edit, del);
    } else actions.append(el('span', { class: 'form-hint', text: 'from PUBLIC_VIEWS_FILE' }));
    return el('li', { class: 'rule-item view-item', attrs: { 'data-slug': v.slug } }, [
      el('div', { class: 'rule-main' }, [el('span', { class: 'rule-name', text: `${v.title} (${v.slug})` }), el('span', { class: 'rule-desc', text: describeView(v) }), urlLine]),
      actions,
    ]);
  };

  async function load(): Promise<void> {
    try {
      const { edge, views } = await fetchPublicViews();
      setText(edgeState, `Edge: ${edge}.`);
      clear(list);
      for (const info of views) list.append(item(info));
      empty.hidden = views.length > 0;
    } catch (err) {
      say((err as Error).message);
    }
  }

  const root = el('section', { class: 'views-page' }, [
    el('h1', { text: 'Public views' }),
    el('p', { class: 'rule-desc', text: 'Each view is a public page at the edge showing only what you choose. What a view hides never leaves the hub.' }),
    edgeState,
    tokenBox,
    message,
    el('div', { class: 'rule-toolbar' }, [newButton]),
    form,
    empty,
    list,
  ]);
  void load();
  return { root, destroy: () => root.remove() };
}
