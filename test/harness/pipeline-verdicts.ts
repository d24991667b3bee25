// The roles the runner-payload tests judge every pipeline kind against, and the verdicts GitLab's facts call for.

import assert from 'node:assert/strict';
import { RUNNER_GENERATIONS, type GitlabTokenVersion, type PipelineKind, type RunnerGeneration } from './runner-payloads.js';

export const role = (name: string, allow: string) => `
[[roles]]
name = "${name}"
arn = "arn:aws:iam::111122223333:role/${name}"
  [roles.allow]
  projects = ["acme/app"]
${allow}
`;
export const ROLES = [
  role('main', '  refs = ["main"]'),
  role('protected', '  protected = true'),
  role('mr', '  pipeline_sources = ["merge_request_event"]'),
  role('project', ''),
].join('');
export const ROLE_NAMES = ['main', 'protected', 'mr', 'project'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];
export type Verdicts = Record<RoleName, 'allow' | 'refuse'>;

export const A = 'allow' as const;
export const R = 'refuse' as const;
export const v = (main: 'allow' | 'refuse', prot: 'allow' | 'refuse', mr: 'allow' | 'refuse', project: 'allow' | 'refuse'): Verdicts => ({
  main,
  protected: prot,
  mr,
  project,
});
export const sendsProtected = (gen: RunnerGeneration) => RUNNER_GENERATIONS.indexOf(gen) >= RUNNER_GENERATIONS.indexOf('18.3');

/**
 * What the policy must decide. With a token (GitLab >= 18.3 claims) the generation does not matter; without one,
 * only runners >= 18.3 tell whether the ref is protected. Fork code never gets acme/app's roles when a token says fork.
 */
export function expected(kind: PipelineKind, gen: RunnerGeneration, token: boolean): Verdicts {
  const prot = token || sendsProtected(gen);
  switch (kind) {
    case 'branch':
      return v(A, prot ? A : R, R, A);
    case 'tag':
      return v(R, prot ? A : R, R, A);
    case 'detached-mr':
    case 'merged-results':
      return v(R, R, token ? A : R, A);
    case 'fork-mr-in-fork':
      return v(R, R, R, R);
    // Without a token a fork MR run in the parent is indistinguishable from a parent MR pipeline (see docs/id-tokens.md).
    case 'fork-mr-in-parent':
      return v(R, R, R, token ? R : A);
  }
}

/**
 * The verdicts when the token is all there is (`jobrole serve`), by the GitLab version that signed it: as with a
 * response file, except that GitLab <= 18.2.1 names the parent as project_path of a fork MR run in the parent
 * (no job_project_path yet), so nothing tells it from the parent's own MR pipeline.
 */
export function expectedFromToken(kind: PipelineKind, version: GitlabTokenVersion): Verdicts {
  if (kind === 'fork-mr-in-parent' && version === '18.2.1') return v(R, R, A, A);
  return expected(kind, '19.0', true);
}

/** The "would allow / would refuse" line of each role in `jobrole explain` output (runner or broker view). */
export function parseVerdicts(text: string): Verdicts {
  const out: Partial<Verdicts> = {};
  for (const name of ROLE_NAMES) {
    const m = new RegExp(`^  ${name} \\(arn:[^)]*\\): would (allow|refuse)`, 'm').exec(text);
    assert.ok(m, `no verdict for role ${name} in:\n${text}`);
    out[name] = m[1] as 'allow' | 'refuse';
  }
  return out as Verdicts;
}
