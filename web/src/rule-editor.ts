// The rule editor (hub mode): the list of rules with edit and delete, and the form for a new or changed
// rule (the admin token box above it belongs to the alerts panel). The hub validates everything again and its message (naming the field) is shown as is. No dialogs: deleting
// asks for a second click.
import { deleteRule, fetchChannels, fetchRules, saveRule, type StoredRuleJson } from './alerts-api.ts';
import { clear, el, setText } from './dom.ts';
import { ALERT_METRICS, CHANNEL_TYPES, describeRule, emptyForm, formToRule, METRIC_LABELS, ruleToForm, type ChannelRow, type RuleForm } from './rule-form.ts';

export interface RuleEditor {
  readonly root: HTMLElement;
  /** Loads the rules (when the tab opens). */
  load(): Promise<void>;
}

let fieldSeq = 0;
function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  const id = `rf-${++fieldSeq}`;
  input.id = id;
  return el('div', { class: 'form-field' }, [el('label', { text: label, attrs: { for: id } }), input, hint ? el('span', { class: 'form-hint', text: hint }) : null]);
}

function select<T extends string>(values: readonly T[], labels: (v: T) => string, cls: string): HTMLSelectElement {
  const s = el('select', { class: cls });
  for (const v of values) s.append(el('option', { text: labels(v), attrs: { value: v } }));
  return s;
}

export function createRuleEditor(options: { onChanged: () => void }): RuleEditor {
  const message = el('p', { class: 'form-message', attrs: { role: 'alert' } });
  message.hidden = true;
  const say = (text: string, kind: 'error' | 'ok' = 'error') => {
    message.hidden = text === '';
    message.dataset.kind = kind;
    setText(message, text);
  };


  // ---- rule list -----------------------------------------------------------------------------
  const list = el('ul', { class: 'rule-list' });
  const newButton = el('button', { class: 'small-button new-rule', text: 'New rule', attrs: { type: 'button' } });
  newButton.addEventListener('click', () => openForm(undefined));

  // ---- form ------------------------------------------------------------------------------------
  const name = el('input', { class: 'rf-name', attrs: { type: 'text', maxlength: '120', required: 'true' } });
  const metric = select(ALERT_METRICS, (m) => METRIC_LABELS[m], 'rf-metric');
  const op = select(['>', '<'] as const, (o) => (o === '>' ? 'above (>)' : 'below (<)'), 'rf-op');
  const threshold = el('input', { class: 'rf-threshold', attrs: { type: 'number', step: 'any', required: 'true' } });
  const forS = el('input', { class: 'rf-for', attrs: { type: 'number', step: 'any', min: '0' } });
  const clearThreshold = el('input', { class: 'rf-clear', attrs: { type: 'number', step: 'any', placeholder: '= threshold' } });
  const severity = select(['warning', 'critical'] as const, (s) => s, 'rf-severity');
  const repeatS = el('input', { class: 'rf-repeat', attrs: { type: 'number', step: 'any', min: '0', placeholder: 'none' } });
  const mount = el('input', { class: 'rf-mount', attrs: { type: 'text', placeholder: 'the fullest one' } });
  const machines = el('input', { class: 'rf-machines', attrs: { type: 'text', placeholder: 'every machine', spellcheck: 'false' } });
  const labels = el('input', { class: 'rf-labels', attrs: { type: 'text', placeholder: 'env=prod, role=db', spellcheck: 'false' } });
  const mountField = field('Mount', mount, 'disk only');
  const opField = field('Condition', op);
  const channelRows = el('div', { class: 'channel-rows' });
  const savedChannels = el('ul', { class: 'saved-channels' });
  const addChannel = el('button', { class: 'small-button add-channel', text: 'Add channel', attrs: { type: 'button' } });
  // The channels saved on the Channels tab, to add by id.
  const addSaved = el('select', { class: 'add-saved-channel', attrs: { 'aria-label': 'Add a saved channel' } });
  let savedNames = new Map<string, string>();
  const save = el('button', { class: 'small-button primary rf-save', text: 'Save rule', attrs: { type: 'submit' } });
  const cancel = el('button', { class: 'small-button rf-cancel', text: 'Cancel', attrs: { type: 'button' } });
  const formTitle = el('h3', { class: 'form-title' });
  const form = el('form', { class: 'rule-form', attrs: { novalidate: 'true' } }, [
    formTitle,
    el('div', { class: 'form-grid' }, [
      field('Name', name),
      field('Metric', metric),
      opField,
      field('Threshold', threshold),
      field('For (s)', forS, 'pending before firing'),
      field('Clear at', clearThreshold, 'hysteresis'),
      field('Severity', severity),
      field('Remind every (s)', repeatS),
      mountField,
      field('Machines', machines, 'ids, comma separated'),
      field('Labels', labels),
    ]),
    el('fieldset', { class: 'channels' }, [el('legend', { text: 'Notify' }), savedChannels, channelRows, el('div', { class: 'alert-actions' }, [addChannel, addSaved])]),
    el('div', { class: 'form-buttons' }, [save, cancel]),
  ]);
  form.hidden = true;

  let editing: string | undefined;
  let saved: string[] = [];
  let rows: ChannelRow[] = [];

  function renderChannels(): void {
    clear(savedChannels);
    saved.forEach((id, i) => {
      const remove = el('button', { class: 'link-button', text: 'remove', attrs: { type: 'button', 'aria-label': `Remove saved channel ${id}` } });
      remove.addEventListener('click', () => {
        saved.splice(i, 1);
        renderChannels();
      });
      const label = savedNames.has(id) ? `saved channel “${savedNames.get(id)}” (${id}) ` : `saved channel ${id} `;
      savedChannels.append(el('li', {}, [el('span', { text: label }), remove]));
    });
    clear(addSaved);
    addSaved.append(el('option', { text: 'Add a saved channel…', attrs: { value: '' } }));
    for (const [id, channelName] of savedNames) if (!saved.includes(id)) addSaved.append(el('option', { text: channelName, attrs: { value: id } }));
    addSaved.hidden = addSaved.options.length <= 1;
    clear(channelRows);
    rows.forEach((row, i) => {
      const type = select(CHANNEL_TYPES, (t) => t, 'ch-type');
      type.value = row.type;
      type.setAttribute('aria-label', `Channel ${i + 1} type`);
      type.addEventListener('change', () => (row.type = type.value as ChannelRow['type']));
      const url = el('input', { class: 'ch-url', attrs: { type: 'url', placeholder: 'https://…', 'aria-label': `Channel ${i + 1} URL`, spellcheck: 'false' } });
      url.value = row.url;
      url.addEventListener('input', () => (row.url = url.value));
      const secret = el('input', {
        class: 'ch-secret',
        attrs: { type: 'password', autocomplete: 'off', placeholder: row.hasSecret ? 'secret unchanged' : 'secret (optional)', 'aria-label': `Channel ${i + 1} secret` },
      });
      secret.addEventListener('input', () => (row.secret = secret.value));
      const remove = el('button', { class: 'link-button', text: 'remove', attrs: { type: 'button', 'aria-label': `Remove channel ${i + 1}` } });
      remove.addEventListener('click', () => {
        rows.splice(i, 1);
        renderChannels();
      });
      channelRows.append(el('div', { class: 'channel-row' }, [type, url, secret, remove]));
    });
  }
  addChannel.addEventListener('click', () => {
    rows.push({ type: 'webhook', url: '', secret: '', hasSecret: false });
    renderChannels();
    (channelRows.lastElementChild?.querySelector('.ch-url') as HTMLInputElement | null)?.focus();
  });

  addSaved.addEventListener('change', () => {
    if (addSaved.value && !saved.includes(addSaved.value)) saved.push(addSaved.value);
    renderChannels();
  });

  const syncMetric = () => {
    mountField.hidden = metric.value !== 'disk_percent';
    opField.hidden = metric.value === 'offline';
  };
  metric.addEventListener('change', syncMetric);

  function fill(f: RuleForm): void {
    name.value = f.name;
    metric.value = f.metric;
    op.value = f.op;
    threshold.value = f.threshold;
    forS.value = f.forS;
    clearThreshold.value = f.clearThreshold;
    severity.value = f.severity;
    repeatS.value = f.repeatS;
    mount.value = f.mount;
    machines.value = f.machines;
    labels.value = f.labels;
    saved = [...f.savedChannels];
    rows = f.channels.map((c) => ({ ...c }));
    renderChannels();
    syncMetric();
  }

  function openForm(rule: StoredRuleJson | undefined): void {
    editing = rule?.id;
    setText(formTitle, rule ? `Edit “${rule.name}”` : 'New rule');
    fill(rule ? ruleToForm(rule) : emptyForm());
    say('');
    form.hidden = false;
    name.focus();
    void fetchChannels()
      .then((list) => {
        savedNames = new Map(list.map((c) => [c.id, c.name]));
        renderChannels();
      })
      .catch(() => undefined);
  }

  cancel.addEventListener('click', () => {
    form.hidden = true;
    say('');
  });

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const result = formToRule({
      id: editing ?? '',
      name: name.value,
      metric: metric.value as RuleForm['metric'],
      op: op.value as RuleForm['op'],
      threshold: threshold.value,
      forS: forS.value,
      clearThreshold: clearThreshold.value,
      severity: severity.value as RuleForm['severity'],
      repeatS: repeatS.value,
      mount: mount.value,
      machines: machines.value,
      labels: labels.value,
      channels: rows,
      savedChannels: saved,
    });
    if (!result.ok) return say(result.message);
    save.disabled = true;
    void saveRule(result.rule, editing)
      .then(async (rule) => {
        form.hidden = true;
        say(`Saved “${rule.name}”.`, 'ok');
        options.onChanged();
        await load();
      })
      .catch((err: unknown) => say((err as Error).message))
      .finally(() => (save.disabled = false));
  });

  // ---- list ----------------------------------------------------------------------------------
  function renderList(rules: StoredRuleJson[]): void {
    clear(list);
    if (rules.length === 0) list.append(el('li', { class: 'alerts-empty', text: 'No rules: machine colours follow the built-in thresholds.' }));
    for (const rule of rules) {
      const edit = el('button', { class: 'small-button rule-edit', text: 'Edit', attrs: { type: 'button', 'aria-label': `Edit rule ${rule.name}` } });
      edit.addEventListener('click', () => openForm(rule));
      const del = el('button', { class: 'small-button rule-delete', text: 'Delete', attrs: { type: 'button', 'aria-label': `Delete rule ${rule.name}` } });
      del.addEventListener('click', () => {
        if (del.dataset.confirm !== 'yes') {
          del.dataset.confirm = 'yes';
          setText(del, 'Really delete?');
          return;
        }
        del.disabled = true;
        void deleteRule(rule.id)
          .then(async () => {
            say(`Deleted “${rule.name}”.`, 'ok');
            options.onChanged();
            await load();
          })
          .catch((err: unknown) => {
            say((err as Error).message);
            del.disabled = false;
          });
      });
      const channels = rule.channels.length ? ` · notifies ${rule.channels.map((c) => (typeof c === 'string' ? c : c.type)).join(', ')}` : '';
      list.append(
        el('li', { class: 'rule-item', attrs: { 'data-rule': rule.id, 'data-status': rule.severity } }, [
          el('span', { class: 'dot', attrs: { 'aria-hidden': 'true' } }),
          el('div', { class: 'rule-main' }, [el('span', { class: 'rule-name', text: rule.name }), el('span', { class: 'rule-desc', text: `${describeRule(rule)}${channels}` })]),
          el('div', { class: 'alert-actions' }, [edit, del]),
        ]),
      );
    }
  }

  async function load(): Promise<void> {
    try {
      renderList(await fetchRules());
    } catch (err) {
      say(`Could not load the rules: ${(err as Error).message}`);
    }
  }

  const root = el('div', { class: 'rule-editor' }, [el('div', { class: 'rule-toolbar' }, [newButton]), message, form, list]);
  return { root, load };
}
