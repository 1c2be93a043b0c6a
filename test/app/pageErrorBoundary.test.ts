/**
 * A page that throws while rendering shows the error with a way back instead of blanking the
 * studio (the boundary's state and what it renders; the bad-link route is in e2e/data-stage.spec.ts).
 */
import { isValidElement, type ReactElement, type ReactNode } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { BadLinkPage, PageErrorBoundary } from '../../src/app/components/PageErrorBoundary.tsx';
import { parseRoute } from '../../src/app/route.ts';

describe('PageErrorBoundary', () => {
  it('turns a render error into the error card with the message, a link home and a reload', () => {
    expect(PageErrorBoundary.getDerivedStateFromError(new TypeError('x is undefined')).error?.message).toBe('x is undefined');
    expect(PageErrorBoundary.getDerivedStateFromError('a string').error?.message).toBe('a string');
    const b = new PageErrorBoundary({ children: 'the page' });
    expect(b.render()).toBe('the page');
    b.state = PageErrorBoundary.getDerivedStateFromError(new TypeError('x is undefined'));
    const out = b.render() as ReactNode;
    expect(isValidElement(out)).toBe(true);
    const html = renderToStaticMarkup(out as ReactElement);
    expect(html).toContain('role="alert"');
    expect(html).toContain('x is undefined');
    expect(html).toContain('href="#/data"');
    expect(html).toContain('Reload');
  });

  it('a malformed % escape is a bad-link route whose page says so with a way back', () => {
    const route = parseRoute('#/data/%E0%A4%A');
    expect(route.page).toBe('bad-link');
    if (route.page !== 'bad-link') return;
    const html = renderToStaticMarkup(BadLinkPage({ message: route.message }));
    expect(html).toContain('malformed % escape');
    expect(html).toContain('href="#/data"');
  });
});
