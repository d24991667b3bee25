// What job users execute must be readable by them: the checkout may not be (cloned under /root, mode 0700), so the
// JS SDK a job imports is bundled into one file under os.tmpdir() (0755 dir, 0644 file) instead of read from node_modules.

import { rmSync } from 'node:fs';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));
let bundled: Promise<string> | undefined;

/**
 * Path of an ES module exporting the JS SDK's STSClient and GetCallerIdentityCommand that any user can import.
 * Built once per test process; removed when the process exits.
 */
export function stsClientForJobs(): Promise<string> {
  bundled ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jobrole-jobjs-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    await chmod(dir, 0o755);
    const file = join(dir, 'client-sts.mjs');
    await build({
      stdin: { contents: "export { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';", resolveDir: CHECKOUT, loader: 'js' },
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      outfile: file,
      logLevel: 'error',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    await chmod(file, 0o644);
    return file;
  })();
  return bundled;
}
