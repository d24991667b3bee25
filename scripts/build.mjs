// Bundles the CLI into dist/ so start-up resolves no module tree; the AWS SDK sits in lazily loaded chunks.
import { build } from 'esbuild';
import { rm, chmod } from 'node:fs/promises';

await rm('dist', { recursive: true, force: true });
await build({
  entryPoints: { jobrole: 'src/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  mainFields: ['module', 'main'],
  target: 'node20',
  sourcemap: false,
  legalComments: 'none',
  chunkNames: 'chunks/[name]-[hash]',
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __jobroleCreateRequire } from 'node:module'; const require = __jobroleCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
  ...(process.env.JOBROLE_BUILD_EXTERNAL ? { external: process.env.JOBROLE_BUILD_EXTERNAL.split(',') } : {}),
});
await chmod('dist/jobrole.mjs', 0o755);
