// esbuild extracts imported stylesheets into the bundle's own CSS file; to TypeScript they are nothing.
declare module '*.css';
