// The "Forget" action of the machine page (hub only), offered while the machine is offline: the first
// click asks for confirmation, a second click within CONFIRM_MS sends DELETE /api/machines/{id} with
// the admin token of the alerting tabs (the same token box, shown when the hub needs a token or the
// hub refused it), and on success the dashboard returns to the fleet.
import { createAdminTokenBox, revealWhenRequired } from './admin-token-box.ts';
import { ApiError, forgetMachine } from './alerts-api.ts';
import { el, setText } from './dom.ts';

export const CONFIRM_MS = 5000;

export interface ForgetControl {
  readonly root: HTMLElement;
  /** Shown only while the machine is offline. */
  setOffline(offline: boolean): void;
  destroy(): void;
}

/** The button's label in each step (pure). */
export function forgetLabel(step: 'idle' | 'armed' | 'busy', name: string): string {
  if (step === 'armed') return `Really forget ${name}?`;
  if (step === 'busy') return 'Forgetting…';
  return 'Forget this machine';
}

export function createForgetControl(machineId: string, deps: { nameOf: () => string; onForgotten: () => void }): ForgetControl {
  const button = el('button', { class: 'small-button forget-button', text: forgetLabel('idle', machineId), attrs: { type: 'button' } });
  const note = el('p', { class: 'form-hint forget-note', attrs: { role: 'status', 'aria-live': 'polite' } });
  const tokenBox = createAdminTokenBox();
  tokenBox.root.hidden = true;
  const root = el('section', { class: 'panel forget', attrs: { 'aria-label': 'Forget this machine' } }, [
    el('p', { class: 'hint', text: 'Offline machines stay in the fleet until forgotten (or FORGET_OFFLINE_AFTER passes). Forgetting removes it from the live view and clears its alerts; its history stays, and it comes back if it reports again.' }),
    tokenBox.root,
    button,
    note,
  ]);
  root.hidden = true;
  let step: 'idle' | 'armed' | 'busy' = 'idle';
  let disarm: number | undefined;
  let destroyed = false;

  const set = (next: typeof step) => {
    step = next;
    setText(button, forgetLabel(step, deps.nameOf()));
    button.disabled = step === 'busy';
    button.setAttribute('aria-pressed', String(step === 'armed'));
  };

  button.addEventListener('click', () => {
    if (step === 'busy') return;
    if (step === 'idle') {
      set('armed');
      setText(note, '');
      disarm = window.setTimeout(() => set('idle'), CONFIRM_MS);
      return;
    }
    window.clearTimeout(disarm);
    set('busy');
    forgetMachine(machineId).then(
      () => {
        if (!destroyed) deps.onForgotten();
      },
      (err: unknown) => {
        if (destroyed) return;
        set('idle');
        if (err instanceof ApiError && (err.status === 401 || err.status === 403)) tokenBox.root.hidden = false;
        setText(note, `Not forgotten: ${(err as Error).message}`);
      },
    );
  });

  // The token box only when this hub needs a token and none is set yet (or a write was refused).
  revealWhenRequired(tokenBox, () => !destroyed);

  return {
    root,
    setOffline(offline) {
      if (!offline && step === 'armed') {
        window.clearTimeout(disarm);
        set('idle');
      }
      root.hidden = !offline;
    },
    destroy() {
      destroyed = true;
      window.clearTimeout(disarm);
    },
  };
}
