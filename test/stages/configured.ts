// Runs the config stage against fake services as gitlab-runner would, and hands back prepare's environment.

import { PassThrough } from 'node:stream';
import { configStage } from '../../src/stages/config.js';
import type { JobResponseInput } from '../harness/job-response.js';
import type { FakeWorld } from './fake-services.js';

export async function configured(w: FakeWorld, input: JobResponseInput = {}, vars: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  const env = await w.jobEnv(input, vars);
  const out = new PassThrough();
  let json = '';
  out.on('data', (c: Buffer) => {
    json += c.toString();
  });
  await configStage(w.svc, env, out);
  const parsed = JSON.parse(json) as { job_env: Record<string, string> };
  return { ...env, ...parsed.job_env };
}
