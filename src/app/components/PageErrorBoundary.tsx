/**
 * Keeps a page's render error from blanking the studio: the error is shown with a way back to the
 * datasets and a reload; navigating elsewhere clears it (the boundary is keyed by the address).
 */
import { Component, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  children: ReactNode;
}

interface State {
  error: Error | null;
}

export class PageErrorBoundary extends Component<Props, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error('page error', error, info.componentStack);
  }

  override render(): ReactNode {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <section className="card error-box" role="alert" data-testid="page-error">
        <h3>This page failed to show</h3>
        <p className="mono small" data-testid="page-error-message">{error.message}</p>
        <p className="small muted">Stored datasets, tables and runs are not affected.</p>
        <div className="row">
          <a href="#/data" data-testid="page-error-home">Back to the datasets</a>
          <button type="button" onClick={() => location.reload()}>Reload</button>
        </div>
      </section>
    );
  }
}

/** A link whose address cannot be read. */
export function BadLinkPage({ message }: { message: string }) {
  return (
    <section className="card error-box" role="alert" data-testid="bad-link">
      <h3>This link cannot be opened</h3>
      <p data-testid="bad-link-message">{message}</p>
      <p className="small muted">The link may have been cut off or edited. Nothing was changed.</p>
      <a href="#/data" data-testid="bad-link-home">Back to the datasets</a>
    </section>
  );
}
