// The claims of a verified GitLab ID token that authorization may use.

export interface VerifiedClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat?: number;
  nbf?: number;
  project_path: string;
  /** The project running the job (GitLab >= 18.3); project_path is then the merge request's source project (a fork's). */
  job_project_path?: string;
  namespace_path?: string;
  project_id?: string;
  pipeline_id?: string;
  job_id?: string;
  ref?: string;
  ref_type?: string;
  ref_protected?: boolean;
  environment?: string;
  environment_protected?: boolean;
  deployment_tier?: string;
  pipeline_source?: string;
  user_login?: string;
  /** The pipeline's commit (the merge commit for merged-results pipelines). */
  sha?: string;
  /** refs/heads/<source_ref> or refs/tags/<tag>. */
  ref_path?: string;
  namespace_id?: string;
  user_id?: string;
}

/** A verified token: its claims plus the raw JWT (needed for AssumeRoleWithWebIdentity; never logged). */
export interface VerifiedIdToken {
  claims: VerifiedClaims;
  raw: string;
}
