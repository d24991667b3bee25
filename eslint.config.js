// Lint: typescript-eslint's type-checked recommended rules, no import cycle between files, and the layering of src/.
import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/**
 * The layers of src/, bottom → top. A directory may import only from itself and the directories BELOW it in this
 * list; the root files (src/cli.ts, src/main.ts) sit on top of everything. architecture.md explains each layer.
 */
const LAYERS = [
  'core',
  'redact',
  'audit',
  'config',
  'aws',
  'state',
  'identity',
  'runner',
  'policy',
  'isolation',
  'credentials',
  'broker',
  'delivery',
  'serve',
  'operator',
  'stages',
];
const ROOT_FILES = ['src/cli.ts', 'src/main.ts'];

// A directory missing from the list would sit in no layer and escape the rule: refuse to lint until it is placed.
const srcDirs = readdirSync(new URL('./src', import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const unplaced = srcDirs.filter((d) => !LAYERS.includes(d));
if (unplaced.length) throw new Error(`eslint.config.js: src/${unplaced.join(', src/')} has no place in LAYERS`);

/** One zone per layer: its files may not import from any layer above it, nor from the root files. */
const layerZones = LAYERS.map((layer, i) => ({
  target: `./src/${layer}`,
  from: [...LAYERS.slice(i + 1).map((above) => `./src/${above}`), ...ROOT_FILES.map((f) => `./${f}`)],
  message: `src/${layer} is below these in the layer order (eslint.config.js LAYERS): import downwards only`,
}));

export default tseslint.config(
  { ignores: ['dist/**', 'dist.*/**', 'node_modules/**', '.tmp/**'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      // Which files import-x parses to follow imports (no-cycle reads the imported files too), and with which parser.
      'import-x/extensions': ['.ts', '.js', '.mjs', '.cjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: layerZones }],
      // Off: an async function that implements a Promise-returning interface (fakes, sources, hooks) need not await;
      // dropping its async would turn its throws from rejections into synchronous throws.
      '@typescript-eslint/require-await': 'off',
      // Off: this project matches control bytes on purpose (ANSI escapes in job logs, control characters refused in input).
      'no-control-regex': 'off',
      // A `let` that a closure reads before its one assignment is a deliberate forward reference (stream ↔ callback).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // node:test's test()/describe() at module level return promises that the runner itself tracks.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      // Unused arguments and caught errors are kept when a signature or an interface demands them; a leading _ says so.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Plain JavaScript (scripts, fixtures) is outside tsconfig.json: lint it without type information.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
