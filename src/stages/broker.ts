// `jobrole _broker`: the per-job credentials endpoint process that prepare starts (secrets arrive on stdin only).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { auditLog } from '../audit/audit-log.js';
import { runBrokerChild } from '../broker/child.js';
import { sessionFromSpec } from '../credentials/session-source.js';
import { parseBrokerSourceSpec, type BrokerSourceSpec } from '../broker/source-spec.js';

/** How often the endpoint checks that its job still exists. */
const ORPHAN_CHECK_MS = 5000;

/**
 * A prepare killed between starting the endpoint and recording it leaves an endpoint nobody will stop: it ends
 * itself as soon as its job's state is gone (cleanup or gc scrubbed the job), not only at the deadline.
 */
function exitWhenJobIsGone(jobDir: string): void {
  setInterval(() => {
    if (!existsSync(join(jobDir, 'state.json'))) process.kill(process.pid, 'SIGTERM');
  }, ORPHAN_CHECK_MS).unref();
}

export async function brokerMain(): Promise<void> {
  let auditInfo: BrokerSourceSpec['audit'] | undefined;
  const audit = () => (auditInfo !== undefined ? auditLog(auditInfo.path) : undefined);
  const base = () => (auditInfo !== undefined ? { job_id: auditInfo.jobId, job_key: auditInfo.jobKey, project: auditInfo.project, role: auditInfo.role } : {});
  await runBrokerChild({
    stdin: process.stdin,
    stdout: process.stdout,
    makeSource: async (raw: unknown) => {
      const { spec, audit: info, jobDir } = parseBrokerSourceSpec(raw);
      auditInfo = info;
      if (jobDir !== undefined) exitWhenJobIsGone(jobDir);
      return () => sessionFromSpec(spec);
    },
    // The endpoint's refresher reports only a key it did not serve before: a source polled for rotation (IMDS)
    // mostly answers with the one it already gave, and the initial key was audited by prepare.
    onIssue: (s) => {
      void audit()?.write({
        event: 'refresh',
        ...base(),
        role_arn: s.roleArn,
        session_name: s.sessionName,
        ...(s.sourceIdentity !== undefined ? { source_identity: s.sourceIdentity } : {}),
        expiration: s.credentials.expiration.toISOString(),
        access_key_id: s.credentials.accessKeyId,
        outcome: 'ok',
      });
    },
    onEvent: (e) => {
      // A failed renewal, and the endpoint closing at the job's deadline, are refresh events with that outcome.
      if (e.type === 'refresh-failed' || e.type === 'deadline')
        void audit()?.write({ event: 'refresh', ...base(), outcome: e.type, detail: `${e.type}: ${e.detail}` });
    },
  });
}
