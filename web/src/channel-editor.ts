// The Channels tab (hub mode): notification channels saved once on the hub and named by id from any
// number of rules. Lists them (secrets never come back: "signed" says one is set), adds one, sends a
// test notification to one and says how the channel answered, and deletes one (a second click
// confirms; the hub refuses while a rule still uses it, and its message is shown as is).
import { createChannel, deleteChannel, fetchChannels, testChannel, type SavedChannelJson } from './alerts-api.ts';
import { clear, el, setText } from './dom.ts';
import { CHANNEL_TYPES } from './rule-form.ts';

export interface ChannelEditor {
  readonly root: HTMLElement;
  /** Loads the channels (when the tab opens). */
  load(): Promise<void>;
}

let fieldSeq = 0;
function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  const id = `cf-${++fieldSeq}`;
  input.id = id;
  return el('div', { class: 'form-field' }, [el('label', { text: label, attrs: { for: id } }), input, hint ? el('span', { class: 'form-hint', text: hint }) : null]);
}

export function createChannelEditor(): ChannelEditor {
  const message = el('p', { class: 'form-message', attrs: { role: 'alert' } });
  message.hidden = true;
  const say = (text: string, kind: 'error' | 'ok' = 'error') => {
    message.hidden = text === '';
    message.dataset.kind = kind;
    setText(message, text);
  };

  // ---- the form ------------------------------------------------------------------------------
  const name = el('input', { class: 'channel-name', attrs: { type: 'text', maxlength: '100', placeholder: 'e.g. ops on-call' } });
  const type = el('select', { class: 'channel-type' });
  for (const t of CHANNEL_TYPES) type.append(el('option', { text: t, attrs: { value: t } }));
  const url = el('input', { class: 'channel-url', attrs: { type: 'url', placeholder: 'https://…', spellcheck: 'false' } });
  const secret = el('input', { class: 'channel-secret', attrs: { type: 'password', autocomplete: 'off', placeholder: 'optional' } });
  const add = el('button', { class: 'small-button primary channel-add', text: 'Add channel', attrs: { type: 'submit' } });
  const form = el('form', { class: 'rule-form channel-form', attrs: { 'aria-label': 'New channel' } }, [
    el('div', { class: 'form-grid' }, [
      field('Name', name, 'Optional: the type and host when empty.'),
      field('Type', type),
      field('URL', url),
      field('Secret', secret, 'Webhooks: signs each body (X-Sysmonstm-Signature).'),
    ]),
    el('div', { class: 'alert-actions' }, [add]),
  ]);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    add.disabled = true;
    const body = { type: type.value, url: url.value.trim(), ...(name.value.trim() ? { name: name.value.trim() } : {}), ...(secret.value ? { secret: secret.value } : {}) };
    void createChannel(body)
      .then(async (ch) => {
        say(`Saved “${ch.name}” as ${ch.id}. Rules name it by that id.`, 'ok');
        name.value = '';
        url.value = '';
        secret.value = '';
        await load(false);
      })
      .catch((err: unknown) => say((err as Error).message))
      .finally(() => (add.disabled = false));
  });

  // ---- the list ------------------------------------------------------------------------------
  const list = el('ul', { class: 'alert-list channel-list' });

  function item(ch: SavedChannelJson): HTMLLIElement {
    const test = el('button', { class: 'small-button channel-test', text: 'Send a test', attrs: { type: 'button', 'aria-label': `Send a test to ${ch.name}` } });
    const result = el('span', { class: 'form-hint channel-test-result', attrs: { role: 'status' } });
    test.addEventListener('click', () => {
      test.disabled = true;
      setText(result, 'Sending…');
      void testChannel(ch.id)
        .then((r) => {
          result.dataset.ok = String(r.ok);
          setText(result, r.ok ? `Delivered (HTTP ${r.http_status}).` : `Not delivered: ${r.error ?? 'failed'}.`);
        })
        .catch((err: unknown) => setText(result, (err as Error).message))
        .finally(() => (test.disabled = false));
    });
    const del = el('button', { class: 'small-button rule-delete channel-delete', text: 'Delete', attrs: { type: 'button', 'aria-label': `Delete channel ${ch.name}` } });
    del.addEventListener('click', () => {
      if (del.dataset.confirm !== 'yes') {
        del.dataset.confirm = 'yes';
        setText(del, 'Really delete?');
        return;
      }
      del.disabled = true;
      void deleteChannel(ch.id)
        .then(async () => {
          say(`Deleted “${ch.name}”.`, 'ok');
          await load(false);
        })
        .catch((err: unknown) => {
          say((err as Error).message);
          del.disabled = false;
        });
    });
    return el('li', { class: 'rule-item channel-item', attrs: { 'data-channel': ch.id } }, [
      el('div', { class: 'rule-main' }, [
        el('span', { class: 'rule-name', text: ch.name }),
        el('span', { class: 'rule-desc', text: `${ch.id} · ${ch.type} · ${ch.url}${ch.has_secret ? ' · signed' : ''}` }),
        result,
      ]),
      el('div', { class: 'alert-actions' }, [test, del]),
    ]);
  }

  async function load(clearMessage = true): Promise<void> {
    if (clearMessage) say('');
    try {
      const channels = await fetchChannels();
      clear(list);
      if (channels.length === 0) list.append(el('li', { class: 'alerts-empty', text: 'No saved channels yet. Rules may also carry their own.' }));
      for (const ch of channels) list.append(item(ch));
    } catch (err) {
      say(`Could not load the channels: ${(err as Error).message}`);
    }
  }

  const root = el('div', { class: 'channel-editor' }, [form, message, list]);
  return { root, load };
}
