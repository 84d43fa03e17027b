// Light and dark themes: the system preference by default, a toggle that remembers the viewer's choice.
// Canvas drawing (charts, sparklines) reads its colours from CSS custom properties through `palette()`.

export type Theme = 'light' | 'dark';

const STORAGE_KEY = 'sysmonstm-theme';
const listeners = new Set<(theme: Theme) => void>();
let cachedPalette: Palette | undefined;

function stored(): Theme | undefined {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return v === 'light' || v === 'dark' ? v : undefined;
  } catch {
    return undefined;
  }
}

function systemTheme(): Theme {
  return window.matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

export function currentTheme(): Theme {
  return (document.documentElement.dataset.theme as Theme | undefined) ?? stored() ?? systemTheme();
}

function apply(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  document.documentElement.style.colorScheme = theme;
  cachedPalette = undefined;
  for (const l of listeners) l(theme);
}

/** Applies the stored or system theme and follows system changes until the viewer picks one. */
export function initTheme(): void {
  apply(stored() ?? systemTheme());
  window.matchMedia('(prefers-color-scheme: light)').addEventListener('change', () => {
    if (!stored()) apply(systemTheme());
  });
}

export function toggleTheme(): Theme {
  const next: Theme = currentTheme() === 'dark' ? 'light' : 'dark';
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
  apply(next);
  return next;
}

export function onThemeChange(listener: (theme: Theme) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export interface Palette {
  text: string;
  muted: string;
  grid: string;
  series: string[];
  status: Record<'healthy' | 'warning' | 'critical' | 'offline', string>;
}

export function palette(): Palette {
  if (cachedPalette) return cachedPalette;
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim();
  cachedPalette = {
    text: v('--text'),
    muted: v('--muted'),
    grid: v('--grid'),
    series: [1, 2, 3, 4, 5, 6].map((i) => v(`--series-${i}`)),
    status: { healthy: v('--healthy'), warning: v('--warning'), critical: v('--critical'), offline: v('--offline') },
  };
  return cachedPalette;
}
