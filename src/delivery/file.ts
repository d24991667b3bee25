// Delivery file: a per-job shared credentials + config file pair (root's, readable by the job's group only).

import { join } from 'node:path';
import type { AwsCredentials } from '../core/credential-types.js';
import { writeFileAtomic, type Owner } from '../core/secure-fs.js';

export interface CredentialFiles {
  files: string[];
  env: Record<string, string>;
}

/** Writes credentials and config into dir (which must be private to the job). */
export async function writeCredentialFiles(dir: string, creds: AwsCredentials, region: string, owner?: Owner, mode = 0o600): Promise<CredentialFiles> {
  const credentialsPath = join(dir, 'credentials');
  const configPath = join(dir, 'config');
  const credentials = [
    '[default]',
    `aws_access_key_id = ${creds.accessKeyId}`,
    `aws_secret_access_key = ${creds.secretAccessKey}`,
    `aws_session_token = ${creds.sessionToken}`,
    '',
  ].join('\n');
  const config = ['[default]', `region = ${region}`, ''].join('\n');
  await writeFileAtomic(credentialsPath, credentials, mode, owner);
  await writeFileAtomic(configPath, config, mode, owner);
  return {
    files: [credentialsPath, configPath],
    env: { AWS_SHARED_CREDENTIALS_FILE: credentialsPath, AWS_CONFIG_FILE: configPath, AWS_CREDENTIAL_EXPIRATION: creds.expiration.toISOString() },
  };
}
