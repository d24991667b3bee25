// Stage prepare: trusted context → role request → policy → strategy → delivery → state; undone on failure.

import { BuildFailure, SystemFailure } from '../core/exit-codes.js';
import { readJobContext } from '../runner/job-context.js';
import { jobStateDirFromEnv, JOB_STATE_VAR } from '../runner/env.js';
import { readRoleRequest } from '../policy/role-request.js';
import { denialMessage, evaluatePolicy } from '../policy/evaluate.js';
import { trustedPipelineId } from '../policy/job-facts.js';
import { conflictingVariables, conflictMessage } from '../delivery/conflicts.js';
import { credentialSecrets } from '../delivery/env.js';
import { readJobState, writeJobState } from '../state/job-store.js';
import { refuseIfUnhealthy } from '../state/host-health.js';
import type { JobState } from '../state/types.js';
import type { Persist } from '../credentials/strategy.js';
import { scrubJob } from './scrub-job.js';
import { jobUndoSteps } from './undo-steps.js';
import { printSummary } from './prepare-summary.js';
import type { Services } from './services.js';

export async function prepareStage(svc: Services, env: NodeJS.ProcessEnv): Promise<void> {
  const { config, layout, log, audit } = svc;
  await refuseIfUnhealthy(config.driver.state_dir);
  const dir = jobStateDirFromEnv(env, layout.jobs);
  if (dir === undefined)
    throw new SystemFailure(`${JOB_STATE_VAR} is not set: the config stage's job_env did not reach prepare (is config_exec "jobrole config"?)`);
  const key = dir.split('/').pop() as string;
  const initial = await readJobState(layout, key);
  if (initial === undefined) throw new SystemFailure(`no state for job ${key}: the config stage did not complete, or the job was already cleaned up`);
  let state: JobState = initial;
  const persist: Persist = async (patch) => {
    state = { ...state, ...patch };
    await writeJobState(layout, state);
  };
  try {
    // The sweep of abandoned jobs already ran in this attempt's config stage, moments ago.
    await prepareJob(svc, await svc.fleetPolicy(), env, () => state, persist);
  } catch (err) {
    // Undo whatever this stage already did; cleanup then finds nothing left to do.
    const r = await scrubJob({ layout, audit, log, reason: `prepare failed: ${(err as Error).message}`, steps: (s) => jobUndoSteps(s, svc) }, state);
    if (r.failures.length > 0) log.warn(`undoing the failed prepare was incomplete: ${r.failures.join('; ')}`);
    throw err;
  }
}

/** config is the effective one (config.toml plus the fleet's central policy). */
async function prepareJob(svc: Services, config: Services['config'], env: NodeJS.ProcessEnv, current: () => JobState, persist: Persist): Promise<void> {
  const { log, audit, layout } = svc;
  const ctx = await readJobContext(env, { gitlabUrl: config.gitlab.url });
  if (ctx.jobId.value !== current().job.id) {
    throw new SystemFailure(`the job response file describes job ${ctx.jobId.value}, but config ran for job ${current().job.id}`);
  }
  const user = await svc.host.prepareUser(current().slot);
  if (user !== undefined) {
    await persist({ user });
    await svc.host.startSandbox(current(), user, persist);
  }

  const requested = readRoleRequest(env, config.job.role_variable);
  // pipeline_id only when GitLab vouches for it (response file, or the verified token below): never a made-up 0.
  const auditBase = () => ({
    job_id: ctx.jobId.value,
    job_key: current().key,
    project: ctx.projectPath.value,
    project_id: ctx.projectId.value,
    pipeline_id: trustedPipelineId(ctx),
    ref: ctx.ref.value,
    // Only what the runner sent (>= 18.5 with a GitLab that sends them): undefined fields are left out of the line.
    namespace_id: ctx.namespaceId?.value,
    root_namespace_id: ctx.rootNamespaceId?.value,
    user_id: ctx.userId?.value,
  });
  if (requested !== undefined || config.job.default_role !== '') {
    try {
      ctx.idToken = await svc.verifyIdToken(config, env);
    } catch (err) {
      if (err instanceof BuildFailure)
        await audit.write({
          event: 'decision',
          ...auditBase(),
          ...(requested !== undefined ? { role: requested } : {}),
          outcome: 'deny',
          detail: `ID token rejected: ${err.message}`,
        });
      throw err;
    }
  }
  const base = auditBase();
  const decision = evaluatePolicy(ctx, requested, config);
  if (decision.kind === 'none') {
    await audit.write({ event: 'decision', ...base, outcome: 'none', detail: `no role requested in ${config.job.role_variable} and no default role` });
    await persist({ phase: 'prepared' });
    log.line(`jobrole: no AWS role requested (set ${config.job.role_variable} to ask for one); this job gets no AWS credentials.`);
    return;
  }
  if (decision.kind === 'deny') {
    await audit.write({
      event: 'decision',
      ...base,
      role: decision.requested,
      outcome: 'deny',
      detail: decision.verdicts
        .filter((v) => !v.ok)
        .map((v) => `${v.condition}: ${v.detail}`)
        .join('; '),
    });
    throw new BuildFailure(denialMessage(decision, config.job.role_variable));
  }
  const role = decision.role;
  await audit.write({
    event: 'decision',
    ...base,
    role: role.name,
    role_arn: role.arn,
    outcome: 'allow',
    detail: decision.viaDefault ? 'default role' : `requested in ${config.job.role_variable}`,
  });

  const conflicts = conflictingVariables(env);
  if (conflicts.length > 0) {
    if (config.job.conflicting_variables === 'refuse') throw new BuildFailure(conflictMessage(conflicts, true));
    log.warn(conflictMessage(conflicts, false));
  }

  const obtained = await svc.strategies[role.strategy].obtain({ config, role, ctx, state: current, persist, layout, log, aws: svc.aws });
  const delivery = svc.deliveries[obtained.delivery ?? role.delivery ?? config.job.delivery];
  await delivery.deliver({
    config,
    role,
    obtained,
    secrets: [...credentialSecrets(obtained.session.credentials), ...obtained.secrets],
    idToken: ctx.idToken?.raw,
    state: current,
    persist,
    layout,
    cliPath: svc.cliPath,
  });
  const s = obtained.session;
  await persist({
    phase: 'prepared',
    role: {
      name: role.name,
      arn: role.arn,
      strategy: role.strategy,
      delivery: delivery.name,
      sessionName: s.sessionName,
      ...(s.sourceIdentity !== undefined ? { sourceIdentity: s.sourceIdentity } : {}),
      ...(s.assumedRoleArn !== undefined ? { assumedRoleArn: s.assumedRoleArn } : {}),
      expiration: s.credentials.expiration.toISOString(),
    },
  });
  await audit.write({
    event: 'issue',
    ...base,
    role: role.name,
    role_arn: role.arn,
    session_name: s.sessionName,
    ...(s.sourceIdentity !== undefined ? { source_identity: s.sourceIdentity } : {}),
    expiration: s.credentials.expiration.toISOString(),
    access_key_id: s.credentials.accessKeyId,
    outcome: delivery.name,
  });
  await printSummary(log, current(), role, s, delivery, svc.now());
}
