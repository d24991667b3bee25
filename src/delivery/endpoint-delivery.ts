// Delivery endpoint: the job's own credentials endpoint (`jobrole _broker`), renewing from the strategy's recipe.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { BrokerSourceSpec } from '../broker/source-spec.js';
import { scrubPath } from '../core/secure-fs.js';
import { jobDir } from '../state/job-store.js';
import type { DeliveryMethod } from './delivery.js';
import { regionEnv } from './env.js';

export const endpointDelivery: DeliveryMethod = {
  name: 'endpoint',
  describe: 'a per-job credentials endpoint on 127.0.0.1 (refreshed automatically)',
  renews: true,
  async deliver({ config, role, obtained, secrets, state, persist, layout, cliPath }) {
    const [{ spawnBroker }, { endpointJobEnv }] = await Promise.all([import('../broker/spawn.js'), import('./endpoint.js')]);
    const job = state();
    const { session, refresh } = obtained;
    const sourceSpec: BrokerSourceSpec = {
      spec: obtained.source,
      audit: { path: config.driver.audit_log, jobId: job.job.id, jobKey: job.key, project: job.job.projectPath, role: role.name },
      jobDir: jobDir(layout, job.key),
    };
    const token = randomBytes(32).toString('base64url');
    const feedSocketPath = join(jobDir(layout, job.key), 'feed.sock');
    await persist({ secrets: [...secrets, token] });
    const broker = await spawnBroker({
      command: process.execPath,
      // Lighter V8 settings: a broker serves a handful of requests per job, so memory matters more than peak speed.
      args: ['--lite-mode', '--max-semi-space-size=1', cliPath, '_broker'],
      handshake: {
        token,
        ...(job.user !== undefined ? { allowedUids: [job.user.uid] } : {}),
        deadline: job.deadline,
        refreshBeforeSeconds: refresh.beforeSeconds,
        ...(refresh.pollMs !== undefined ? { pollMs: refresh.pollMs } : {}),
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
    const record = { pid: broker.pid, startTime: broker.startTime, port: broker.port, feedSocket: feedSocketPath };
    if (job.user === undefined) {
      await persist({ broker: record });
    } else {
      // Another uid's connection never reaches the endpoint: the kernel resets its SYN, however many it sends.
      const { endpointFenceFor, installEndpointFence } = await import('../isolation/endpoint-fence.js');
      const fence = endpointFenceFor(config.driver.firewall_table, job.key);
      await persist({ broker: { ...record, fence } });
      await installEndpointFence(fence, { port: broker.port, uid: job.user.uid });
    }
    await persist({ jobEnv: { ...endpointJobEnv(`http://127.0.0.1:${broker.port}/creds`, token), ...regionEnv(config.aws.region) } });
  },
  teardown(state) {
    const broker = state.broker;
    if (broker === undefined) return [];
    const fence = broker.fence;
    let stopped = false;
    return [
      {
        name: 'stop the credentials endpoint',
        run: async () => {
          const { stopBroker } = await import('../core/process-identity.js');
          await stopBroker({ pid: broker.pid, startTime: broker.startTime }, { graceMs: 3000 });
          stopped = true;
          await scrubPath(broker.feedSocket);
        },
      },
      // Only after the stop: the port is never open to other uids while the endpoint lives (gc retries both).
      ...(fence === undefined
        ? []
        : [
            {
              name: "remove the endpoint's firewall rule",
              run: async () => {
                if (!stopped) throw new Error('kept: the endpoint may still be running');
                const { removeEndpointFence } = await import('../isolation/endpoint-fence.js');
                await removeEndpointFence(fence);
              },
            },
          ]),
    ];
  },
};
