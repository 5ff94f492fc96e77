import htm from 'htm';
import { h } from 'preact';

/**
 * Tagged templates instead of JSX: the dashboard is plain TypeScript that esbuild bundles without a
 * JSX transform, and htm parses each template once (no eval, so the CSP needs no 'unsafe-eval').
 */
export const html = htm.bind(h);
