/** A date as the studio shows every date: local "YYYY-MM-DD HH:mm", its zone and UTC on hover. */
import { dateTimeTitle, formatLocalDateTime } from '../format.ts';

export function LocalTime({ ms, testId }: { ms: number; testId?: string }) {
  const valid = Number.isFinite(new Date(ms).getTime());
  if (!valid) return <span>—</span>;
  return (
    <time dateTime={new Date(ms).toISOString()} title={dateTimeTitle(ms)} className="nowrap" data-testid={testId}>
      {formatLocalDateTime(ms)}
    </time>
  );
}
