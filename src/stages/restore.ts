// `jobrole gc --restore`: the operator's way back from an unhealthy host whose instance profile could not be restored.

import type { JobState } from '../state/types.js';
import type { AwsCredentials } from '../core/credential-types.js';
import { listJobKeys, readJobState, writeJobState } from '../state/job-store.js';
import type { Services } from './services.js';
import { collectGarbage } from './gc.js';
import { unconfirmedSwap, waitOutPendingSwap } from '../credentials/instance-profile-pending.js';

export async function operatorRestore(svc: Services): Promise<number> {
  const { config, layout, log, audit } = svc;
  const [{ restoreInstanceProfile, restoreInstanceProfileAsOperator, RestoreFailed, fromBaseline }, { clearUnhealthy, readHealth }] = await Promise.all([
    import('../credentials/instance-profile.js'),
    import('../state/host-health.js'),
  ]);
  const imds = svc.aws.imds(config.aws);
  const ec2 = (c: AwsCredentials | undefined) => svc.aws.ec2(config.aws, c !== undefined ? { credentials: c } : {});
  let failed = 0;
  for (const key of await listJobKeys(layout)) {
    let state;
    try {
      state = await readJobState(layout, key);
    } catch (err) {
      // It may record a swap: the host is not healthy again until an operator has looked at it.
      failed++;
      log.error(`job state ${key} cannot be read, so a swap it may record cannot be restored: ${(err as Error).message}`);
      continue;
    }
    const undo = state?.instanceProfile;
    if (state === undefined || undo === undefined) continue;
    const restoreRecord = { event: 'restore' as const, job_id: state.job.id, job_key: key, project: state.job.projectPath, instance_id: undo.instanceId };
    const common = {
      imds,
      timeoutMs: config.instance_profile.propagation_timeout * 1000,
      pollIntervalMs: config.instance_profile.poll_interval_ms,
      progress: (line: string) => log.line(line),
    };
    const baseline = state.instanceProfileBaseline;
    const asOperator = () =>
      restoreInstanceProfileAsOperator(undo, { ...common, ...(baseline?.roleName !== undefined ? { baselineRoleName: baseline.roleName } : {}), ec2 });
    try {
      // Never give the host's role back while a job user could read it from IMDS (state from an older version
      // that opened the fence, a flushed firewall): verify, re-install if needed, or refuse to restore.
      const fenced = await svc.host.fenceForRestore(state).then(
        () => undefined,
        (err: Error) => err,
      );
      if (fenced !== undefined) throw new Error(`not restored: ${fenced.message} (run \`jobrole host init\`, then this again)`);
      const pending = await unconfirmedSwap(state, () => ec2(baseline !== undefined ? fromBaseline(baseline) : undefined), imds);
      if (baseline !== undefined && Date.parse(baseline.expiration) > Date.now()) {
        try {
          await restoreInstanceProfile(undo, { ...common, baseline, ec2 });
        } catch (err) {
          // The captured credentials may be dead early (revoked, or AWS rejects them) or lack a permission the
          // operator has since fixed elsewhere: try what the operator provides (environment, profile) before giving up.
          if (!(err instanceof RestoreFailed) || (err.reason !== 'credentials-expired' && err.reason !== 'denied')) throw err;
          log.line(`jobrole: the driver credentials captured before the swap do not work (${err.message.split('. ')[0]}); using the operator's credentials`);
          await asOperator();
        }
      } else {
        // The captured credentials are gone: sign with what the operator provides (environment, profile).
        await asOperator();
      }
      if (pending) await waitOutPendingSwap(config, state, imds, (line) => log.line(line));
      // Undone: the scrub below must not try again with credentials that may no longer work.
      await writeJobState(layout, withoutUndo(state));
      log.ok(`restored the instance profile of ${undo.instanceId} (job ${state.job.id})`);
      await audit.write({ ...restoreRecord, outcome: 'ok', detail: 'jobrole gc --restore' });
    } catch (err) {
      failed++;
      log.error(`job ${state.job.id}: ${(err as Error).message}`);
      await audit.write({ ...restoreRecord, outcome: 'failed', detail: `jobrole gc --restore: ${(err as Error).message}` });
    }
  }
  if (failed > 0) return 1;
  const health = await readHealth(config.driver.state_dir);
  await clearUnhealthy(config.driver.state_dir);
  if (!health.healthy) log.ok(`host marked healthy again (it was unhealthy since ${health.since}: ${health.reason})`);
  const r = await collectGarbage(svc, { all: true });
  return r.failed.length > 0 ? 1 : 0;
}

function withoutUndo(state: JobState): JobState {
  const { instanceProfile: _undo, instanceProfileBaseline: _baseline, ...rest } = state;
  return rest;
}
