// Delivery env: the credentials themselves as AWS_* variables in the job's environment (static, no refresh).

import type { AwsCredentials } from '../core/credential-types.js';

export function credentialEnv(creds: AwsCredentials): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_SESSION_TOKEN: creds.sessionToken,
    AWS_CREDENTIAL_EXPIRATION: creds.expiration.toISOString(),
  };
}

/** Region for every delivery, so the CLI and SDKs need no job-side setup. */
export function regionEnv(region: string): Record<string, string> {
  return { AWS_REGION: region, AWS_DEFAULT_REGION: region };
}

export function credentialSecrets(creds: AwsCredentials): string[] {
  return [creds.accessKeyId, creds.secretAccessKey, creds.sessionToken];
}
