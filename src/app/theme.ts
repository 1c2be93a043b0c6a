/**
 * Light/dark theme: the user's choice is remembered in localStorage; without one the system's
 * prefers-color-scheme decides. The resolved theme is set as <html data-theme="…"> (theme.css).
 */
export type Theme = 'light' | 'dark';

export const THEME_KEY = 'etegrec-studio-theme';

export function storedTheme(): Theme | null {
  try {
    const v = localStorage.getItem(THEME_KEY);
    return v === 'light' || v === 'dark' ? v : null;
  } catch {
    return null;
  }
}

export function systemTheme(): Theme {
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
}

export function saveTheme(theme: Theme): void {
  try { localStorage.setItem(THEME_KEY, theme); } catch { /* private mode: not remembered */ }
  applyTheme(theme);
}
