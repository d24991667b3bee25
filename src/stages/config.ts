// Stage config: validate config, sweep crashed jobs, claim a slot, write initial state, print JSON only.

import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { slotDirs } from '../config/slot-dirs.js';
import { readJobContext } from '../runner/job-context.js';
import { JOB_STATE_VAR } from '../runner/env.js';
import { ensureStateLayout, jobDir, readJobState, writeJobState } from '../state/job-store.js';
import { claimSlot } from '../state/slots.js';
import { describeQuarantine } from '../state/quarantine.js';
import { readProcessStartTime } from '../core/process-identity.js';
import { refuseIfUnhealthy } from '../state/host-health.js';
import { sweepOrphans } from './gc.js';
import type { JobState } from '../state/types.js';
import type { Services } from './services.js';
import { VERSION } from '../core/version.js';
import { DEADLINE_GRACE_SECONDS } from '../state/deadline.js';

const DEFAULT_TIMEOUT_SECONDS = 3 * 3600;

/** svc.log must not be stdout: the runner reads this stage's stdout as JSON. */
export async function configStage(svc: Services, env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): Promise<void> {
  const { config, layout, log } = svc;
  await ensureStateLayout(layout);
  await refuseIfUnhealthy(config.driver.state_dir);
  await sweepOrphans(svc);

  const ctx = await readJobContext(env, { gitlabUrl: config.gitlab.url });
  const key = `${ctx.jobId.value}-${randomBytes(6).toString('hex')}`;
  // A holder whose state still exists keeps its slot, live or not: the sweep above scrubbed what it could,
  // and a slot is only taken over once its last job's scrub completed (and deleted that state).
  const slot = await claimSlot(
    layout,
    config.driver.slots,
    key,
    async (holder) => {
      const state = await readJobState(layout, holder).catch(() => 'unreadable' as const);
      return state !== undefined;
    },
    (q) => log.warn(`${describeQuarantine(q)}; skipped ("jobrole gc" retries its scrub)`),
  );
  const now = svc.now();
  const timeout = ctx.timeoutSeconds?.value ?? DEFAULT_TIMEOUT_SECONDS;
  const state: JobState = {
    version: 1,
    key,
    createdAt: now.toISOString(),
    deadline: new Date(now.getTime() + (timeout + DEADLINE_GRACE_SECONDS) * 1000).toISOString(),
    runner: { pid: process.ppid, startTime: await readProcessStartTime(process.ppid), tmpDir: process.cwd() },
    job: {
      id: ctx.jobId.value,
      projectId: ctx.projectId.value,
      projectPath: ctx.projectPath.value,
      ...(ctx.pipelineId !== undefined ? { pipelineId: ctx.pipelineId.value } : {}),
      ref: ctx.ref.value,
    },
    slot,
    isolation: config.job.isolation,
    phase: 'configured',
    jobEnv: {},
    secrets: [],
    files: [],
  };
  await writeJobState(layout, state);

  const [buildsDir, cacheDir] = slotDirs(config, slot);
  out.write(
    `${JSON.stringify({
      builds_dir: buildsDir,
      cache_dir: cacheDir,
      builds_dir_is_shared: false,
      hostname: hostname(),
      driver: { name: 'jobrole', version: VERSION },
      job_env: { [JOB_STATE_VAR]: jobDir(layout, key) },
    })}\n`,
  );
}
