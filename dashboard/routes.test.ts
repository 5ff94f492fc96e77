import { describe, expect, it } from 'vitest';
import { parseRoute, pathOf, type Route } from './routes.js';

describe('routes', () => {
  it('reads every page from its path and writes the same path back', () => {
    const routes: Route[] = [
      { page: 'devices' },
      { page: 'login' },
      { page: 'device', id: 'gh 1/x' },
      { page: 'events' },
      { page: 'alerts' },
      { page: 'rules' },
      { page: 'editor', file: null },
      { page: 'editor', file: 'greenhouse.yaml' },
    ];
    for (const r of routes) expect(parseRoute(pathOf(r))).toEqual(r);
  });

  it('takes /devices and trailing slashes as the same pages, and names a path it does not know', () => {
    expect(parseRoute('/devices/')).toEqual({ page: 'devices' });
    expect(parseRoute('/rules/')).toEqual({ page: 'rules' });
    expect(parseRoute('/nope/x')).toEqual({ page: 'missing', path: '/nope/x' });
  });
});
