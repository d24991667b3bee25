// Prepare's endpoint delivery: start the job's credentials endpoint (`jobrole _broker`) for any refreshable source.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { JobroleConfig } from '../config/types.js';
import type { IssuedSession, RefreshPlan } from '../core/credential-types.js';
import type { SourceSpec } from '../credentials/session-source.js';
import { regionEnv } from '../delivery/env.js';
import { jobDir, type StateLayout } from '../state/job-store.js';
import type { JobState } from '../state/types.js';
import type { BrokerSourceSpec } from './broker.js';
import type { Persist } from './prepare-credentials.js';

export interface EndpointRequest {
  /** The first session, already obtained (the endpoint serves it until its first refresh). */
  session: IssuedSession;
  /** How the endpoint obtains the next ones. */
  spec: SourceSpec;
  refresh: RefreshPlan;
  /** Secrets to mask in the job log besides the endpoint's token (the session's, an ID token). */
  secrets: string[];
  roleName: string;
}

/** Starts the endpoint, records it (pid, port, feed socket) and gives the job its URL and token. */
export async function startJobEndpoint(
  deps: { config: JobroleConfig; layout: StateLayout; persist: Persist; cliPath: string },
  state: JobState,
  req: EndpointRequest,
): Promise<void> {
  const { config, layout, persist } = deps;
  const [{ spawnBroker }, { endpointJobEnv }] = await Promise.all([import('../broker/spawn.js'), import('../delivery/endpoint.js')]);
  const { session } = req;
  const sourceSpec: BrokerSourceSpec = {
    spec: req.spec,
    audit: { path: config.driver.audit_log, jobId: state.job.id, jobKey: state.key, project: state.job.projectPath, role: req.roleName },
    jobDir: jobDir(layout, state.key),
  };
  const token = randomBytes(32).toString('base64url');
  const feedSocketPath = join(jobDir(layout, state.key), 'feed.sock');
  await persist({ secrets: [...req.secrets, token] });
  const broker = await spawnBroker({
    command: process.execPath,
    // Lighter V8 settings: a broker serves a handful of requests per job, so memory matters more than peak speed.
    args: ['--lite-mode', '--max-semi-space-size=1', deps.cliPath, '_broker'],
    handshake: {
      token,
      ...(state.user !== undefined ? { allowedUids: [state.user.uid] } : {}),
      deadline: state.deadline,
      refreshBeforeSeconds: req.refresh.beforeSeconds,
      ...(req.refresh.pollMs !== undefined ? { pollMs: req.refresh.pollMs } : {}),
      initial: {
        accessKeyId: session.credentials.accessKeyId,
        secretAccessKey: session.credentials.secretAccessKey,
        sessionToken: session.credentials.sessionToken,
        expiration: session.credentials.expiration.toISOString(),
        roleArn: session.roleArn,
        sessionName: session.sessionName,
        ...(session.assumedRoleArn !== undefined ? { assumedRoleArn: session.assumedRoleArn } : {}),
        ...(session.sourceIdentity !== undefined ? { sourceIdentity: session.sourceIdentity } : {}),
      },
      feedSocketPath,
      sourceSpec,
    },
  });
  await persist({
    broker: { pid: broker.pid, startTime: broker.startTime, port: broker.port, feedSocket: feedSocketPath },
    jobEnv: { ...endpointJobEnv(`http://127.0.0.1:${broker.port}/creds`, token), ...regionEnv(config.aws.region) },
  });
}
