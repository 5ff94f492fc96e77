import htm from 'htm';
import { h } from 'preact';

/**
 * Tagged templates instead of JSX: the dashboard is plain TypeScript that esbuild bundles without a
 * JSX transform, and htm parses each template once (no eval, so the CSP needs no 'unsafe-eval').
 * htm drops whitespace that holds a line break, where HTML would keep one space: a space between
 * text and a `${value}` must stay on one line. Prettier would re-wrap templates as HTML, so
 * .prettierrc.json turns its embedded formatting off for dashboard/.
 */
export const html = htm.bind(h);
