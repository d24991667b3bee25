// Bundles the CLI into dist/. dist/jobrole.cjs is one self-contained CommonJS file holding the run stage (it runs
// ~10 times per job: one file, no module tree, no ESM loader start-up, no SDK); every other command lives in
// dist/cli.mjs, whose AWS SDK parts sit in lazily loaded chunks. Builds into a fresh directory and swaps it in, so a concurrent test run
// never sees a half-written dist/.
import { build } from 'esbuild';
import { rm, chmod, rename } from 'node:fs/promises';

const out = `dist.build-${process.pid}`;
const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  mainFields: ['module', 'main'],
  target: 'node20',
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  banner: {
    js: "import { createRequire as __jobroleCreateRequire } from 'node:module'; const require = __jobroleCreateRequire(import.meta.url);",
  },
};

/** main.ts reaches the rest of the CLI through import('./cli.js'): keep that a separate file at run time. */
const cliExternal = {
  name: 'cli-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/cli\.js$/ }, () => ({ path: './cli.mjs', external: true }));
  },
};

await rm(out, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: { jobrole: 'src/main.ts' },
  outdir: out,
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  splitting: false,
  plugins: [cliExternal],
  banner: { js: '#!/usr/bin/env node' },
});
await build({
  ...common,
  entryPoints: { cli: 'src/cli.ts' },
  outdir: out,
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});
await chmod(`${out}/jobrole.cjs`, 0o755);
const old = `dist.old-${process.pid}`;
await rename('dist', old).catch(() => undefined);
await rename(out, 'dist');
await rm(old, { recursive: true, force: true });
