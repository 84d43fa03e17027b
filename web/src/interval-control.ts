// The machine page's "Report every [N] s" control (hub only): the owner sets how often this machine's
// collector reports, PUT /api/machines/{id}/settings with the admin token of the alerting tabs (the
// same token box, shown when the hub needs a token and none is set, or when the hub refused it). The
// hub pushes the interval to the live collector; "every … s" in the header follows with the next
// report. An empty field means the collector's own COLLECTION_INTERVAL.
import { createAdminTokenBox, revealWhenRequired } from './admin-token-box.ts';
import { ApiError, fetchMachineSettings, saveMachineSettings } from './alerts-api.ts';
import { el, setText } from './dom.ts';
import { intervalProblem, REPORT_INTERVAL_MAX_MS, REPORT_INTERVAL_MIN_MS } from '../../proto/machine-settings.ts';

export interface IntervalControl {
  readonly root: HTMLElement;
  destroy(): void;
}

/** The field's text → intervalMs (0 for empty: the collector's own), or the reason it is refused (pure). */
export function parseIntervalField(text: string): { ok: true; intervalMs: number } | { ok: false; error: string } {
  const t = text.trim();
  if (t === '') return { ok: true, intervalMs: 0 };
  const seconds = Number(t);
  if (!Number.isFinite(seconds)) return { ok: false, error: 'Enter a number of seconds.' };
  const intervalMs = Math.round(seconds * 1000);
  if (intervalProblem(intervalMs) !== undefined || intervalMs === 0) {
    return { ok: false, error: `Between ${REPORT_INTERVAL_MIN_MS / 1000} and ${REPORT_INTERVAL_MAX_MS / 1000} seconds, or empty for the collector's own.` };
  }
  return { ok: true, intervalMs };
}

/** intervalMs → the field's text (pure): seconds without trailing zeros, empty for 0. */
export function intervalFieldText(intervalMs: number): string {
  return intervalMs > 0 ? String(intervalMs / 1000) : '';
}

export function createIntervalControl(machineId: string): IntervalControl {
  const fieldId = `report-interval-${machineId}`;
  const input = el('input', {
    class: 'interval-input',
    attrs: { id: fieldId, type: 'number', min: String(REPORT_INTERVAL_MIN_MS / 1000), max: String(REPORT_INTERVAL_MAX_MS / 1000), step: '0.1', inputmode: 'decimal', placeholder: 'own' },
  });
  const save = el('button', { class: 'small-button primary interval-save', text: 'Set', attrs: { type: 'button' } });
  const note = el('span', { class: 'form-hint interval-note', attrs: { role: 'status', 'aria-live': 'polite' } });
  const tokenBox = createAdminTokenBox();
  tokenBox.root.hidden = true;
  const root = el('section', { class: 'interval-control', attrs: { 'aria-label': 'Report interval' } }, [
    el('div', { class: 'interval-row' }, [el('label', { text: 'Report every', attrs: { for: fieldId } }), input, el('span', { text: 's' }), save, note]),
    tokenBox.root,
  ]);
  const abort = new AbortController();
  let destroyed = false;

  void fetchMachineSettings(machineId, abort.signal).then(
    (s) => {
      if (!destroyed && document.activeElement !== input) input.value = intervalFieldText(s.intervalMs);
    },
    () => {},
  );
  const submit = () => {
    const parsed = parseIntervalField(input.value);
    if (!parsed.ok) {
      note.dataset.kind = 'error';
      setText(note, parsed.error);
      return;
    }
    save.disabled = true;
    setText(note, '');
    saveMachineSettings(machineId, { intervalMs: parsed.intervalMs }).then(
      () => {
        if (destroyed) return;
        save.disabled = false;
        tokenBox.root.hidden = true;
        note.dataset.kind = 'ok';
        setText(note, parsed.intervalMs === 0 ? 'Saved: the collector’s own interval.' : `Saved: every ${intervalFieldText(parsed.intervalMs)} s.`);
      },
      (err: unknown) => {
        if (destroyed) return;
        save.disabled = false;
        if (err instanceof ApiError && (err.status === 401 || err.status === 403)) tokenBox.root.hidden = false;
        note.dataset.kind = 'error';
        setText(note, `Not saved: ${(err as Error).message}`);
      },
    );
  };
  save.addEventListener('click', submit);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') submit();
  });

  revealWhenRequired(tokenBox, () => !destroyed, abort.signal);

  return {
    root,
    destroy() {
      destroyed = true;
      abort.abort();
    },
  };
}
