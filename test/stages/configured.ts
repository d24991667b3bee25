// Runs the config stage against fake services as gitlab-runner would, and hands back prepare's environment.

import { PassThrough } from 'node:stream';
import { configStage } from '../../src/stages/config.js';
import type { JobResponseInput } from '../harness/job-response.js';
import type { FakeWorld } from './fake-services.js';

export async function configured(w: FakeWorld, input: JobResponseInput = {}, vars: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  const env = await w.jobEnv(input, vars);
  const parsed = JSON.parse(await runConfigStage(w, env)) as { job_env: Record<string, string> };
  return { ...env, ...parsed.job_env };
}

/** The config stage's stdout (what the runner parses as JSON). */
export async function runConfigStage(w: FakeWorld, env: NodeJS.ProcessEnv): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => {
    text += c.toString();
  });
  await configStage(w.svc, env, out);
  return text;
}
