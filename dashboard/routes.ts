/** A page and its parameters, from the address bar. */
export type Route =
  | { page: 'login' }
  | { page: 'devices' }
  | { page: 'device'; id: string }
  | { page: 'events' }
  | { page: 'alerts' }
  | { page: 'rules' }
  | { page: 'editor'; file: string | null }
  | { page: 'missing'; path: string };

/** The path a route lives at; history routing, since the hub serves index.html for any page path. */
export function pathOf(route: Route): string {
  switch (route.page) {
    case 'login':
      return '/login';
    case 'devices':
      return '/';
    case 'device':
      return `/devices/${encodeURIComponent(route.id)}`;
    case 'events':
      return '/events';
    case 'alerts':
      return '/alerts';
    case 'rules':
      return '/rules';
    case 'editor':
      return route.file === null ? '/rules/edit' : `/rules/edit/${encodeURIComponent(route.file)}`;
    case 'missing':
      return route.path;
  }
}

export function parseRoute(path: string): Route {
  const parts = path.replace(/\/+$/, '').split('/').filter(Boolean).map(decodeSafely);
  const [first, second, third] = parts;
  if (parts.length === 0 || (first === 'devices' && parts.length === 1)) return { page: 'devices' };
  if (first === 'login' && parts.length === 1) return { page: 'login' };
  if (first === 'devices' && second !== undefined && parts.length === 2)
    return { page: 'device', id: second };
  if (first === 'events' && parts.length === 1) return { page: 'events' };
  if (first === 'alerts' && parts.length === 1) return { page: 'alerts' };
  if (first === 'rules' && parts.length === 1) return { page: 'rules' };
  if (first === 'rules' && second === 'edit' && parts.length <= 3)
    return { page: 'editor', file: third ?? null };
  return { page: 'missing', path };
}

function decodeSafely(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
