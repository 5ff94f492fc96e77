/**
 * The dashboard's `index.html`: only references to the hashed entry files, nothing inline, because
 * the hub's Content-Security-Policy allows scripts and styles from its own origin only
 * (`script-src 'self'; style-src 'self'`). Paths are absolute (`/assets/…`): the hub serves this
 * page for every page path (`/devices/gh-1`), where relative ones would point elsewhere.
 */
export interface IndexAssets {
  /** The entry script, e.g. `assets/main-ABC123.js`, relative to the dashboard's root. */
  script: string;
  /** The extracted stylesheets, likewise. */
  styles: readonly string[];
  /** Chunks every page needs at once, fetched in parallel with the entry instead of after it. */
  preload?: readonly string[];
}

const SAFE_PATH = /^[A-Za-z0-9._/-]+$/;

function href(path: string): string {
  if (!SAFE_PATH.test(path))
    throw new Error(`asset path "${path}" has characters an index.html must not carry`);
  return `/${path.replace(/^\/+/, '')}`;
}

export function dashboardIndexHtml(assets: IndexAssets): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    '<title>edgehub</title>',
    // No icon of its own: an empty one (allowed by `img-src data:`) saves the browser a 404 for /favicon.ico.
    '<link rel="icon" href="data:,">',
    ...assets.styles.map((s) => `<link rel="stylesheet" href="${href(s)}">`),
    ...(assets.preload ?? []).map((p) => `<link rel="modulepreload" href="${href(p)}">`),
    `<script type="module" src="${href(assets.script)}"></script>`,
    '</head>',
    '<body>',
    '<div id="app"></div>',
    '<noscript>The edgehub dashboard needs JavaScript.</noscript>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
