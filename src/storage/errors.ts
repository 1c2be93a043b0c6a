/** Maps IndexedDB failures to structured StudioErrors (quota first: it is the one users can fix). */
import { StudioError, quotaMessage } from '../core/errors.ts';

function nameOf(x: unknown): string | undefined {
  return x && typeof x === 'object' && 'name' in x ? String((x as { name: unknown }).name) : undefined;
}

export function isQuotaError(x: unknown): boolean {
  const name = nameOf(x);
  if (name === 'QuotaExceededError') return true;
  // Legacy DOMException code 22; Firefox may report NS_ERROR_DOM_QUOTA_REACHED.
  if (x && typeof x === 'object' && (x as { code?: unknown }).code === 22) return true;
  return /quota/i.test(String((x as { message?: unknown })?.message ?? ''));
}

/**
 * `err` is what a request/transaction promise rejected with; `txError` is the transaction's own
 * `error` (a quota failure at commit shows up there while requests report only AbortError).
 */
export function toStorageError(err: unknown, txError?: unknown, action = 'store data', write = true): StudioError {
  if (err instanceof StudioError) return err;
  if (isQuotaError(err) || isQuotaError(txError)) {
    return new StudioError({ code: 'quota_exceeded', message: quotaMessage() });
  }
  const cause = nameOf(txError) && nameOf(txError) !== 'AbortError' ? txError : err;
  const name = nameOf(cause) ?? 'Error';
  const msg = (cause as { message?: unknown })?.message;
  return new StudioError({
    code: 'storage_failed',
    message: `Browser storage could not ${action} (${name}${msg ? `: ${String(msg)}` : ''}).${write ? ' Nothing was changed.' : ''}`,
  });
}
