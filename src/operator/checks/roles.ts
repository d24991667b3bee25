// Doctor (opt-in): a real AssumeRole per configured role, 900 s, credentials discarded at once.

import type { STSClient } from '@aws-sdk/client-sts';
import type { JobroleConfig, RoleConfig } from '../../config/types.js';
import { describeAwsError, errorCode } from '../../aws/errors.js';
import { fail, pass, skip, type CheckResult } from './result.js';

const DRY_RUN_SESSION = 'jobrole-doctor';

async function tryRole(sts: STSClient, config: JobroleConfig, role: RoleConfig, caller: string | undefined): Promise<CheckResult> {
  const { AssumeRoleCommand } = await import('@aws-sdk/client-sts');
  // As close to what prepare sends as a job-less call can be: same duration floor, tags, SourceIdentity and session policy.
  const input = {
    RoleArn: role.arn,
    RoleSessionName: DRY_RUN_SESSION,
    DurationSeconds: 900,
    ...(config.job.source_identity !== 'none' ? { SourceIdentity: DRY_RUN_SESSION } : {}),
    ...(config.job.session_tags
      ? {
          Tags: [
            { Key: 'gitlab:project_path', Value: DRY_RUN_SESSION },
            { Key: 'gitlab:job_id', Value: '0' },
          ],
        }
      : {}),
    ...(role.session_policy !== '' ? { Policy: role.session_policy } : {}),
    ...(role.policy_arns.length > 0 ? { PolicyArns: role.policy_arns.map((arn) => ({ arn })) } : {}),
  };
  try {
    const out = await sts.send(new AssumeRoleCommand(input));
    // The credentials are dropped here: nothing keeps or prints them.
    return pass(`role "${role.name}" assumable from here (${out.AssumedRoleUser?.Arn ?? role.arn}, 900 s session discarded)`);
  } catch (err) {
    const code = errorCode(err);
    const needs = [
      'sts:AssumeRole',
      ...(config.job.session_tags ? ['sts:TagSession'] : []),
      ...(config.job.source_identity !== 'none' ? ['sts:SetSourceIdentity'] : []),
    ].join(', ');
    const what =
      code === 'AccessDenied'
        ? `its trust policy must allow ${caller ?? "this host's role"} ${needs}`
        : code === 'MalformedPolicyDocument' || code === 'PackedPolicyTooLarge'
          ? 'fix its session_policy / policy_arns'
          : 'check the role ARN and the STS endpoint';
    return fail(`role "${role.name}" (${role.arn}): AssumeRole failed (${describeAwsError(err)}): ${what}`);
  }
}

export async function checkRoles(config: JobroleConfig, dryRun: boolean, sts: () => Promise<STSClient>, caller: string | undefined): Promise<CheckResult[]> {
  if (config.roles.length === 0) return [skip('roles: none configured')];
  if (!dryRun) return [skip(`roles: ${config.roles.length} not tried (pass --dry-run-roles to AssumeRole each one; the 900 s sessions are discarded at once)`)];
  const out: CheckResult[] = [];
  for (const role of config.roles) {
    if (role.strategy === 'web-identity') out.push(skip(`role "${role.name}": web-identity needs a job's ID token; not tried`));
    else if (role.strategy === 'instance-profile') out.push(skip(`role "${role.name}": trying it would swap this host's instance profile; not tried`));
    else out.push(await tryRole(await sts(), config, role, caller));
  }
  return out;
}
