// Finds job variables that would override the credentials jobrole hands the job (pasted static keys, profiles).

/** Variables the AWS CLI and SDKs consult before (or instead of) what jobrole delivers. */
export const CREDENTIAL_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  'AWS_CREDENTIAL_EXPIRATION',
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CONFIG_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_ROLE_SESSION_NAME',
] as const;

/** Names (never values) of job variables that would shadow jobrole's credentials. */
export function conflictingVariables(env: NodeJS.ProcessEnv): string[] {
  return CREDENTIAL_VARIABLES.filter((name) => env[`CUSTOM_ENV_${name}`] !== undefined);
}

export function conflictMessage(names: string[], refuse: boolean): string {
  const list = names.join(', ');
  return refuse
    ? `this job defines ${list} in its CI variables, which would override the credentials jobrole issues. Remove them from the project/group CI/CD settings or .gitlab-ci.yml (long-lived keys in CI variables are what jobrole replaces), or ask the operator to set [job].conflicting_variables = "warn".`
    : `this job defines ${list} in its CI variables; they override the credentials jobrole issued, so the job may not use its role.`;
}
