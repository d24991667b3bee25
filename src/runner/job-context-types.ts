// The trusted facts about one job that authorization uses, each tagged with where it came from.

import type { VerifiedIdToken } from '../identity/claims.js';

export type FactSource = 'response-file' | 'id-token';

export interface Fact<T> {
  value: T;
  source: FactSource;
  /** The field it was read from, e.g. "git_info.protected" or "job_info.project_full_path". */
  field?: string;
}

/** A pipeline ref of the form refs/merge-requests/<iid>/<head|merge|train> (detached, merged results, merge train). */
export interface MergeRequestRef {
  iid: number;
  kind: 'head' | 'merge' | 'train';
}

export interface JobContext {
  jobId: Fact<number>;
  projectId: Fact<number>;
  /** job_info.pipeline_id (gitlab-runner >= 19.0 with a GitLab that sends it); never made up when absent or 0. */
  pipelineId: Fact<number> | undefined;
  /** job_info.project_full_path (runner >= 18.5), else the path of git_info.repo_url under [gitlab].url. */
  projectPath: Fact<string>;
  projectName: Fact<string>;
  jobName: Fact<string>;
  stage: Fact<string>;
  /** git_info.ref: a branch or tag name, or refs/merge-requests/<iid>/<kind> for merge-request pipelines. */
  ref: Fact<string>;
  refType: Fact<string>;
  sha: Fact<string>;
  repoUrl: Fact<string>;
  /** git_info.protected (runner >= 18.3 with GitLab >= 18.3); undefined when absent or null. */
  protectedRef: Fact<boolean> | undefined;
  /** job_info.namespace_id / root_namespace_id / user_id (runner >= 18.5); undefined when absent or 0. */
  namespaceId: Fact<number> | undefined;
  rootNamespaceId: Fact<number> | undefined;
  userId: Fact<number> | undefined;
  /** Set when git_info.ref is a merge-request ref. */
  mergeRequest: MergeRequestRef | undefined;
  /** Which optional fields the runner's struct has (a field it lacks is absent from the file): its generation. */
  runnerFields: RunnerFields;
  /** Job timeout in seconds (runner_info.timeout), when the response file gives one. */
  timeoutSeconds: Fact<number> | undefined;
  /** Present only when an ID token was supplied and verified. */
  idToken: VerifiedIdToken | undefined;
}

export interface RunnerFields {
  /** git_info has the "protected" key (gitlab-runner >= 18.3), whatever its value. */
  gitProtected: boolean;
  /** job_info has "project_full_path" (gitlab-runner >= 18.5). */
  projectFullPath: boolean;
  /** job_info has "pipeline_id" (gitlab-runner >= 19.0). */
  pipelineId: boolean;
}
