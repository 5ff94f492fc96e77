import { signal } from '@preact/signals';
import { parseRoute, pathOf, type Route } from './routes.js';

export { parseRoute, pathOf, type Route };

export const route = signal<Route>(parseRoute(location.pathname));

export function navigate(to: Route, { replace = false }: { replace?: boolean } = {}): void {
  const path = pathOf(to);
  if (path !== location.pathname) {
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
  }
  route.value = to;
  window.scrollTo(0, 0);
}

/** Back/forward, and plain links inside the app without a page load. */
export function startRouter(): void {
  window.addEventListener('popstate', () => (route.value = parseRoute(location.pathname)));
  document.addEventListener('click', (event) => {
    const a = (event.target as Element | null)?.closest?.('a');
    if (!a || a.target || a.origin !== location.origin || event.defaultPrevented) return;
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (a.pathname.startsWith('/api/') || a.hasAttribute('download')) return;
    event.preventDefault();
    navigate(parseRoute(a.pathname));
  });
}
