// The admin token box of the alerting tabs (rules, channels): the token is kept in sessionStorage and
// sent as Authorization: Bearer on writes. The hint follows the hub: when it sets ADMIN_TOKEN
// (/api/info says so) it asks for the token; when it does not, it says writes work from the hub
// machine itself. Every box on the page shows the same token.
import { adminToken, fetchAdminTokenRequired, setAdminToken } from './alerts-api.ts';
import { el, setText } from './dom.ts';

export interface AdminTokenBox {
  readonly root: HTMLElement;
  /** Asks the hub again whether it needs a token and updates the hint. */
  refresh(): Promise<void>;
}

const boxes = new Set<() => void>();
let boxSeq = 0;

/** The hint under the token box, decided from what is known (pure). */
export function tokenHint(tokenSet: boolean, hubRequiresToken: boolean | undefined): string {
  if (tokenSet) return 'A token is set for this tab.';
  if (hubRequiresToken) return 'This hub sets ADMIN_TOKEN: enter it to make changes.';
  if (hubRequiresToken === false) return 'No token needed: this hub takes changes from its own machine (set ADMIN_TOKEN to allow them from elsewhere).';
  return '';
}

export function createAdminTokenBox(): AdminTokenBox {
  const id = `admin-token-${++boxSeq}`;
  const input = el('input', { class: 'admin-token', attrs: { id, type: 'password', autocomplete: 'off', spellcheck: 'false', placeholder: 'ADMIN_TOKEN' } });
  input.value = adminToken();
  const save = el('button', { class: 'small-button token-save', text: 'Use token', attrs: { type: 'button' } });
  const state = el('span', { class: 'form-hint token-state' });
  let required: boolean | undefined;
  const show = () => {
    if (document.activeElement !== input) input.value = adminToken();
    setText(state, tokenHint(adminToken() !== '', required));
  };
  boxes.add(show);
  save.addEventListener('click', () => {
    setAdminToken(input.value.trim());
    for (const b of boxes) b();
  });
  show();
  const root = el('div', { class: 'token-box' }, [el('div', { class: 'form-field' }, [el('label', { text: 'Admin token', attrs: { for: id } }), input]), save, state]);
  return {
    root,
    async refresh() {
      try {
        required = await fetchAdminTokenRequired();
      } catch {
        required = undefined;
      }
      show();
    },
  };
}

/** For a hidden box beside one action (Forget, the report interval): shows it once the hub is known to
 *  need a token and this tab has none; `alive` false (the page left) or `signal` aborted: nothing. */
export function revealWhenRequired(box: AdminTokenBox, alive: () => boolean, signal?: AbortSignal): void {
  void fetchAdminTokenRequired(signal)
    .then((required) => {
      if (alive() && required && adminToken() === '') box.root.hidden = false;
    })
    .catch(() => {});
  void box.refresh();
}
