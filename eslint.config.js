import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/*
 * Import boundaries between the contexts: who may reach whom, and only through a context's index.ts.
 * kernel/ (errors, clock, bus, logger, the wire protocol) reaches nothing of ours; firmware-sim/, the
 * other side of the wire, reaches only kernel/, so a simulator never shares an adapter's mistakes;
 * devices/ and rules/ reach only kernel/; hub/ wires them all. Tests may also use the simulated
 * firmware and test/support/; source never imports test code.
 */
const CONTEXTS = ['kernel', 'devices', 'rules', 'firmware-sim', 'hub'];
const REACHES = {
  kernel: [],
  'firmware-sim': ['kernel'],
  devices: ['kernel'],
  rules: ['kernel'],
  hub: ['kernel', 'devices', 'rules', 'firmware-sim'],
};
const TEST_FILES = ['**/*.test.ts', '**/*.contract.ts'];

function forbidden(name, { tests }) {
  const patterns = [];
  for (const other of CONTEXTS) {
    if (other === name) continue;
    const reachable = REACHES[name].includes(other) || (tests && other === 'firmware-sim');
    if (!reachable) {
      patterns.push({
        group: [`**/${other}/**`, `../${other}/**`],
        message: `${name}/ may not import ${other}/ (eslint.config.js: import boundaries)`,
      });
    } else {
      patterns.push({
        group: [`**/${other}/**`, `!**/${other}/index.js`, `../${other}/**`, `!../${other}/index.js`],
        message: `import ${other}/ through its index.ts only (eslint.config.js: import boundaries)`,
      });
    }
  }
  if (!tests) {
    patterns.push({
      group: ['**/test/**', '../test/**'],
      message: 'source may not import test code (eslint.config.js: import boundaries)',
    });
  }
  return { 'no-restricted-imports': ['error', { patterns }] };
}

const boundaries = CONTEXTS.flatMap((name) => [
  { files: [`${name}/**/*.ts`], ignores: TEST_FILES, rules: forbidden(name, { tests: false }) },
  { files: TEST_FILES.map((t) => `${name}/${t}`), rules: forbidden(name, { tests: true }) },
]);

/*
 * The dashboard runs in a browser and speaks to the hub only over HTTP: it imports none of the
 * contexts (their types included; the API's shapes are in dashboard/types.ts).
 */
const dashboard = {
  files: ['dashboard/**/*.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [...CONTEXTS, 'test', 'scripts'].map((name) => ({
          group: [`**/${name}/**`, `../${name}/**`],
          message: 'the dashboard speaks to the hub over HTTP only (eslint.config.js: import boundaries)',
        })),
      },
    ],
  },
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'schemas/', 'bin/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // zod's `z` export holds all of zod; the bundle can drop what is unused only from a namespace import.
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "ImportDeclaration[source.value='zod'][importKind='value'] > ImportSpecifier[imported.name='z'][importKind='value']",
          message: "import * as z from 'zod' (scripts/build.ts: tree-shaking)",
        },
      ],
    },
  },
  ...boundaries,
  dashboard,
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
