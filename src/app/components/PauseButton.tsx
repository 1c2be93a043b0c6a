/**
 * Pause / Resume beside a stage's Cancel button (Alt+P presses it: data-shortcut="pause"), and the
 * "Paused" label of the progress area. A paused trainer waits at its next step; results are
 * unchanged by a pause, and Cancel still works while paused.
 */
export function PauseButton({ paused, disabled, onToggle, testId }: { paused: boolean; disabled: boolean; onToggle: () => void; testId: string }) {
  return (
    <button type="button" data-testid={testId} data-shortcut="pause" aria-pressed={paused} disabled={disabled}
      title={paused ? 'Continue training from where it paused (Alt+P)' : 'Pause training at the next step; Resume continues with identical results (Alt+P)'}
      onClick={onToggle}>
      {paused ? 'Resume' : 'Pause'}
    </button>
  );
}

export function PausedLabel({ testId }: { testId: string }) {
  return <p className="small warn" role="status" data-testid={testId}>Paused — training waits at its next step; Resume continues.</p>;
}
