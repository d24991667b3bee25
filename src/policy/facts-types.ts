// The facts a policy decision reads, each with its source: built from a job (response file + ID token) or a token alone.

import type { Fact } from '../runner/job-context-types.js';

/** Pipeline sources whose ref is named by whoever opened the merge (or pull) request. */
export const MERGE_REQUEST_SOURCES: readonly string[] = ['merge_request_event', 'external_pull_request_event'];

/** The first gitlab-runner version that writes git_info.protected (common/network.go GitInfo.Protected). */
export const PROTECTED_MIN_RUNNER = '18.3';

export interface PolicyFacts {
  /** The project running the job (response file, or the token's job_project_path / project_path). */
  project: Fact<string>;
  /**
   * A verified token's project_path (for a fork merge request: the fork, GitLab >= 18.2.2) and job_project_path
   * (the project running the job, GitLab >= 18.3): a `projects` rule must match both.
   */
  tokenProjects: { projectPath: string; jobProjectPath?: string } | undefined;
  /** A branch or tag name, or refs/merge-requests/<iid>/<kind> for merge-request pipelines. */
  ref: Fact<string>;
  /** "branch" or "tag" as GitLab says (merge-request pipelines say "branch"). */
  refType: Fact<string>;
  /** Whether this is a merge-request pipeline, and which field says so. */
  mergeRequest: Fact<boolean>;
  /** Merge-request pipelines: the token's ref, i.e. the source branch (named by whoever opened the request). */
  sourceBranch: Fact<string> | undefined;
  /** Whether GitLab says the pipeline's ref is protected; undefined when nothing trustworthy says it. */
  protected: Fact<boolean> | undefined;
  /** Why `protected` is undefined: what is missing or contradictory, and what would supply it. */
  protectedProblem: string | undefined;
  /** A verified ID token backs the facts below. */
  hasIdToken: boolean;
  environment: Fact<string> | undefined;
  environmentProtected: Fact<boolean> | undefined;
  deploymentTier: Fact<string> | undefined;
  pipelineSource: Fact<string> | undefined;
  userLogin: Fact<string> | undefined;
}
