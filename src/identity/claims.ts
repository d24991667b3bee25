// The claims of a verified GitLab ID token that authorization may use.

export interface VerifiedClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat?: number;
  nbf?: number;
  project_path: string;
  /** For fork merge-request pipelines: the project actually running the job. Absent otherwise. */
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
}

/** A verified token: its claims plus the raw JWT (needed for AssumeRoleWithWebIdentity; never logged). */
export interface VerifiedIdToken {
  claims: VerifiedClaims;
  raw: string;
}
