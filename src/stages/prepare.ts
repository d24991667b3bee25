// Stage prepare: trusted context → role request → policy → credentials → delivery → state; undone on failure.

import type { JobroleConfig } from '../config/types.js';
import { BuildFailure, SystemFailure } from '../core/exit-codes.js';
import { readJobContext } from '../runner/job-context.js';
import { jobStateDirFromEnv, JOB_STATE_VAR } from '../runner/env.js';
import type { JobLog } from '../core/job-log.js';
import { readRoleRequest } from '../policy/role-request.js';
import { denialMessage, evaluatePolicy } from '../policy/evaluate.js';
import { trustedPipelineId } from '../policy/job-facts.js';
import { conflictingVariables, conflictMessage } from '../delivery/conflicts.js';
import { auditLog, type AuditLog } from '../audit/audit-log.js';
import { readJobState, stateLayout, writeJobState } from '../state/job-store.js';
import { refuseIfUnhealthy } from '../state/host-health.js';
import { scrubJob } from './scrub-job.js';
import type { JobState } from '../state/types.js';
import { withFleetPolicy } from '../policy/fleet-policy.js';
import { prepareIsolation } from './prepare-isolation.js';
import { verifyJobIdToken } from '../identity/job-id-token.js';
import { obtainAndDeliver, type Delivered } from './prepare-credentials.js';
import { extraScrubSteps } from './scrub-extras.js';
import { printSummary } from './prepare-summary.js';
import { prepareInstanceProfileJob } from './prepare-instance-profile.js';

export async function prepareStage(config: JobroleConfig, env: NodeJS.ProcessEnv, log: JobLog, cliPath: string): Promise<void> {
  const layout = stateLayout(config.driver.state_dir);
  await refuseIfUnhealthy(config.driver.state_dir);
  const dir = jobStateDirFromEnv(env, layout.jobs);
  if (dir === undefined) throw new SystemFailure(`${JOB_STATE_VAR} is not set: the config stage's job_env did not reach prepare (is config_exec "jobrole config"?)`);
  const key = dir.split('/').pop() as string;
  const initial = await readJobState(layout, key);
  if (initial === undefined) throw new SystemFailure(`no state for job ${key}: the config stage did not complete, or the job was already cleaned up`);
  const audit = auditLog(config.driver.audit_log, (e) => log.warn(`cannot write the audit log ${config.driver.audit_log}: ${e.message}`));
  let state: JobState = initial;
  const persist = async (patch: Partial<JobState>) => {
    state = { ...state, ...patch };
    await writeJobState(layout, state);
  };
  try {
    // The sweep of abandoned jobs already ran in this attempt's config stage, moments ago.
    await prepareJob(await withFleetPolicy(config, log), env, log, audit, () => state, persist, cliPath);
  } catch (err) {
    // Undo whatever this stage already did; cleanup then finds nothing left to do.
    const r = await scrubJob({ config, layout, audit, log, reason: `prepare failed: ${(err as Error).message}`, extraSteps: await extraScrubSteps(config, state, log) }, state);
    if (r.failures.length > 0) log.warn(`undoing the failed prepare was incomplete: ${r.failures.join('; ')}`);
    throw err;
  }
}

async function prepareJob(
  config: JobroleConfig,
  env: NodeJS.ProcessEnv,
  log: JobLog,
  audit: AuditLog,
  current: () => JobState,
  persist: (patch: Partial<JobState>) => Promise<void>,
  cliPath: string,
): Promise<void> {
  const ctx = await readJobContext(env, { gitlabUrl: config.gitlab.url });
  if (ctx.jobId.value !== current().job.id) {
    throw new SystemFailure(`the job response file describes job ${ctx.jobId.value}, but config ran for job ${current().job.id}`);
  }
  const user = await prepareIsolation(config, current().slot, log);
  if (user !== undefined) {
    await persist({ user });
    const { prepareSandbox } = await import('./prepare-sandbox.js');
    await prepareSandbox(config, stateLayout(config.driver.state_dir), current(), user, persist, log);
  }

  const requested = readRoleRequest(env, config.job.role_variable);
  // pipeline_id only when GitLab vouches for it (response file, or the verified token below): never a made-up 0.
  const auditBase = () => ({ job_id: ctx.jobId.value, job_key: current().key, project: ctx.projectPath.value, project_id: ctx.projectId.value, pipeline_id: trustedPipelineId(ctx), ref: ctx.ref.value,
    // Only what the runner sent (>= 18.5 with a GitLab that sends them): undefined fields are left out of the line.
    namespace_id: ctx.namespaceId?.value, root_namespace_id: ctx.rootNamespaceId?.value, user_id: ctx.userId?.value });
  if (requested !== undefined || config.job.default_role !== '') {
    try {
      ctx.idToken = await verifyJobIdToken(config, env, log);
    } catch (err) {
      if (err instanceof BuildFailure) await audit.write({ event: 'decision', ...auditBase(), ...(requested !== undefined ? { role: requested } : {}), outcome: 'deny', detail: `ID token rejected: ${err.message}` });
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
    await audit.write({ event: 'decision', ...base, role: decision.requested, outcome: 'deny', detail: decision.verdicts.filter((v) => !v.ok).map((v) => `${v.condition}: ${v.detail}`).join('; ') });
    throw new BuildFailure(denialMessage(decision, config.job.role_variable));
  }
  const role = decision.role;
  await audit.write({ event: 'decision', ...base, role: role.name, role_arn: role.arn, outcome: 'allow', detail: decision.viaDefault ? 'default role' : `requested in ${config.job.role_variable}` });

  const conflicts = conflictingVariables(env);
  if (conflicts.length > 0) {
    if (config.job.conflicting_variables === 'refuse') throw new BuildFailure(conflictMessage(conflicts, true));
    log.warn(conflictMessage(conflicts, false));
  }

  let delivered: Delivered;
  if (role.strategy === 'instance-profile') {
    delivered = await prepareInstanceProfileJob({ config, log, persist, current, cliPath }, role);
  } else {
    delivered = await obtainAndDeliver({ config, layout: stateLayout(config.driver.state_dir), log, persist, cliPath }, current(), role, ctx);
  }
  const s = delivered.session;
  await persist({
    phase: 'prepared',
    role: {
      name: role.name,
      arn: role.arn,
      strategy: role.strategy,
      delivery: delivered.delivery,
      sessionName: s.sessionName,
      ...(s.sourceIdentity !== undefined ? { sourceIdentity: s.sourceIdentity } : {}),
      ...(s.assumedRoleArn !== undefined ? { assumedRoleArn: s.assumedRoleArn } : {}),
      expiration: s.credentials.expiration.toISOString(),
    },
  });
  await audit.write({
    event: 'issue', ...base, role: role.name, role_arn: role.arn, session_name: s.sessionName,
    ...(s.sourceIdentity !== undefined ? { source_identity: s.sourceIdentity } : {}),
    expiration: s.credentials.expiration.toISOString(), access_key_id: s.credentials.accessKeyId, outcome: delivered.delivery,
  });
  await printSummary(log, current(), role, delivered);
}
