// The trusted facts about one job that authorization uses, each tagged with where it came from.

import type { VerifiedIdToken } from '../identity/claims.js';

export type FactSource = 'response-file' | 'id-token';

export interface Fact<T> {
  value: T;
  source: FactSource;
}

export interface JobContext {
  jobId: Fact<number>;
  projectId: Fact<number>;
  pipelineId: Fact<number>;
  projectPath: Fact<string>;
  projectName: Fact<string>;
  jobName: Fact<string>;
  stage: Fact<string>;
  ref: Fact<string>;
  refType: Fact<string>;
  sha: Fact<string>;
  repoUrl: Fact<string>;
  /** Job timeout in seconds (runner_info.timeout), when the response file gives one. */
  timeoutSeconds: Fact<number> | undefined;
  /** Present only when an ID token was supplied and verified. */
  idToken: VerifiedIdToken | undefined;
}
