/**
 * Studio-wide helpers in the header: the light/dark toggle (remembered; the system's preference by
 * default), the keyboard shortcuts of the stage pages (Alt+S start, Alt+X cancel, Alt+P pause —
 * they press the page's button marked data-shortcut="start|cancel|pause") with their help tooltip,
 * and a banner once the tab has been in the background (browsers throttle background tabs).
 */
import { useEffect, useState } from 'react';
import { applyTheme, saveTheme, storedTheme, systemTheme, type Theme } from '../theme.ts';
import { useBackendStore } from '../stores/backend.ts';
import { RESTART_NOTE } from '../workerClient.ts';
import { LocalTime } from './LocalTime.tsx';
import '../theme.css';

export const SHORTCUTS: { keys: string; code: string; action: string; label: string }[] = [
  { keys: 'Alt+S', code: 'KeyS', action: 'start', label: 'start training' },
  { keys: 'Alt+X', code: 'KeyX', action: 'cancel', label: 'cancel the running job' },
  { keys: 'Alt+P', code: 'KeyP', action: 'pause', label: 'pause or resume the running training' },
];

export const SHORTCUTS_TEXT = `Keyboard shortcuts on the stage pages: ${SHORTCUTS.map((s) => `${s.keys} ${s.label}`).join('; ')}.`;

export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(() => storedTheme() ?? systemTheme());
  useEffect(() => { applyTheme(theme); }, [theme]);
  useEffect(() => {
    if (typeof matchMedia !== 'function') return;
    const mq = matchMedia('(prefers-color-scheme: dark)');
    const onChange = () => { if (!storedTheme()) setTheme(mq.matches ? 'dark' : 'light'); };
    mq.addEventListener('change', onChange);
    return () => mq.removeEventListener('change', onChange);
  }, []);
  const next: Theme = theme === 'dark' ? 'light' : 'dark';
  return (
    <button type="button" data-testid="theme-toggle" aria-pressed={theme === 'dark'} title={`Switch to the ${next} theme`}
      onClick={() => { saveTheme(next); setTheme(next); }}>
      {theme === 'dark' ? '☀ Light' : '☾ Dark'}
    </button>
  );
}

export function ShortcutsHelp() {
  return (
    <span className="shortcuts-help" data-testid="shortcuts-help" title={SHORTCUTS_TEXT} aria-label={SHORTCUTS_TEXT} tabIndex={0}>
      ⌨ shortcuts
    </span>
  );
}

/** Alt+<key> presses the enabled button marked data-shortcut~="<action>" on the page. */
export function useStageShortcuts(): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const s = SHORTCUTS.find((x) => x.code === e.code);
      if (!s) return;
      const btn = document.querySelector<HTMLButtonElement>(`button[data-shortcut~="${s.action}"]:not([disabled])`);
      if (!btn) return;
      e.preventDefault();
      btn.click();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

export function HiddenTabBanner() {
  const [shown, setShown] = useState(() => typeof document !== 'undefined' && document.hidden);
  useEffect(() => {
    const onChange = () => { if (document.hidden) setShown(true); };
    document.addEventListener('visibilitychange', onChange);
    return () => document.removeEventListener('visibilitychange', onChange);
  }, []);
  if (!shown) return null;
  return (
    <div className="hidden-banner" role="status" data-testid="hidden-banner">
      <span>Background tabs are throttled by the browser; training may slow down while this tab is hidden.</span>
      <button type="button" data-testid="hidden-banner-dismiss" onClick={() => setShown(false)}>Dismiss</button>
    </div>
  );
}

/** Says that the worker was replaced after a wasm memory fault, and what that means for the user. */
export function WorkerRestartBanner() {
  const restart = useBackendStore((s) => s.restart);
  const [dismissed, setDismissed] = useState(0);
  if (!restart || restart.count === dismissed) return null;
  return (
    <div className="hidden-banner worker-banner" role="alert" data-testid="worker-restart-banner">
      <span title={`What failed: ${restart.reason}`}>
        {RESTART_NOTE} (<LocalTime ms={restart.at} />{restart.count > 1 ? `, restart ${restart.count}` : ''}). Epochs stored before it are
        kept; a smaller batch, micro-batch or model needs less memory.
      </span>
      <button type="button" data-testid="worker-restart-dismiss" title={restart.reason} onClick={() => setDismissed(restart.count)}>Dismiss</button>
    </div>
  );
}
