// Recognises the refs GitLab gives merge-request pipelines: refs/merge-requests/<iid>/head|merge|train.

import type { MergeRequestRef } from './job-context-types.js';

const MR_REF = /^refs\/merge-requests\/(\d{1,12})\/(head|merge|train)$/;

export function parseMergeRequestRef(ref: string): MergeRequestRef | undefined {
  const m = MR_REF.exec(ref);
  if (m === null) return undefined;
  return { iid: Number(m[1]), kind: m[2] as MergeRequestRef['kind'] };
}

/** The runner generation the response file's fields point to (the file has no version field). */
export function runnerGeneration(f: { gitProtected: boolean; projectFullPath: boolean; pipelineId: boolean }): string {
  if (f.pipelineId) return 'gitlab-runner >= 19.0 (job_info.pipeline_id present)';
  if (f.projectFullPath) return 'gitlab-runner 18.5-18.x (job_info.project_full_path present, no pipeline_id)';
  if (f.gitProtected) return 'gitlab-runner 18.3-18.4 (git_info.protected present, no project_full_path)';
  return 'gitlab-runner 14.1-18.2 (no git_info.protected, no project_full_path)';
}
