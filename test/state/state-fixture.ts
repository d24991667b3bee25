// A representative per-job state record for state tests.

import type { JobState } from '../../src/state/types.js';

export const KEY = '4242-0123456789ab';

export function sampleState(key = KEY): JobState {
  return {
    version: 1,
    key,
    createdAt: '2030-01-01T00:00:00.000Z',
    deadline: '2030-01-01T02:00:00.000Z',
    runner: { pid: 1234, startTime: '5678', tmpDir: '/tmp/custom-executor1' },
    job: { id: 4242, projectId: 77, projectPath: 'group/app', pipelineId: 900, ref: 'main' },
    slot: 1,
    isolation: 'none',
    phase: 'prepared',
    role: {
      name: 'deploy',
      arn: 'arn:aws:iam::111122223333:role/deploy',
      strategy: 'assume-role',
      delivery: 'env',
      sessionName: 'gitlab-77-4242',
      expiration: '2030-01-01T01:00:00.000Z',
    },
    jobEnv: { AWS_SECRET_ACCESS_KEY: 'secret-value' },
    secrets: ['secret-value'],
    files: [],
  };
}
