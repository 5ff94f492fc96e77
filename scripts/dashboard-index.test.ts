import { describe, expect, it } from 'vitest';
import { dashboardIndexHtml } from './dashboard-index.js';

describe('the dashboard index.html', () => {
  const page = dashboardIndexHtml({
    script: 'assets/main-AB12CD.js',
    styles: ['assets/main-EF34GH.css'],
    preload: ['assets/chunk-XY.js'],
  });

  it('loads the hashed entry script and stylesheet by absolute path, so every page path finds them', () => {
    expect(page).toContain('<script type="module" src="/assets/main-AB12CD.js"></script>');
    expect(page).toContain('<link rel="stylesheet" href="/assets/main-EF34GH.css">');
    expect(page).toContain('<link rel="modulepreload" href="/assets/chunk-XY.js">');
  });

  it('has no inline script or style for the CSP to block', () => {
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page).not.toMatch(/<style|style="/);
    expect(page).not.toMatch(/\bon[a-z]+="/);
  });

  it('is usable on a phone and in dark mode', () => {
    expect(page).toContain('name="viewport" content="width=device-width, initial-scale=1"');
    expect(page).toContain('name="color-scheme" content="light dark"');
  });

  it('refuses an asset path that could break out of its attribute', () => {
    expect(() => dashboardIndexHtml({ script: 'assets/x".js', styles: [] })).toThrow(/must not carry/);
  });
});
