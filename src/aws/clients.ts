// The one place that builds STS, EC2 and SSM clients: region, endpoints (VPC endpoints, emulator), retries.

import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { STSClient } from '@aws-sdk/client-sts';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { AwsSection } from '../config/types.js';

export type ClientCredentials = AwsCredentialIdentity | AwsCredentialIdentityProvider;

export interface ClientOptions {
  /** Credentials to sign with; default = the SDK's default chain (on EC2: the instance profile). */
  credentials?: ClientCredentials;
}

const DEFAULT_IMDS = 'http://169.254.169.254';

/**
 * The SDK's default chain reads the metadata endpoint from the environment; point it at the configured
 * one (an emulator in tests) before any client resolves credentials.
 */
function applyImdsEndpoint(aws: AwsSection): void {
  if (aws.imds_endpoint !== '' && aws.imds_endpoint !== DEFAULT_IMDS) {
    process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = aws.imds_endpoint;
  }
}

function common(aws: AwsSection, endpoint: string, opts: ClientOptions) {
  applyImdsEndpoint(aws);
  // The driver's stderr is the job log: no SDK advisories about the Node.js release there.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  return {
    region: aws.region,
    maxAttempts: aws.max_attempts,
    retryMode: 'standard',
    ...(endpoint !== '' ? { endpoint } : {}),
    ...(opts.credentials !== undefined ? { credentials: opts.credentials } : {}),
  } as const;
}

/** STS, loaded lazily so stages that need no AWS never load the SDK. */
export async function stsClient(aws: AwsSection, opts: ClientOptions = {}): Promise<STSClient> {
  const { STSClient } = await import('@aws-sdk/client-sts');
  return new STSClient(common(aws, aws.sts_endpoint, opts));
}

export async function ec2Client(aws: AwsSection, opts: ClientOptions = {}): Promise<EC2Client> {
  const { EC2Client } = await import('@aws-sdk/client-ec2');
  return new EC2Client(common(aws, aws.ec2_endpoint, opts));
}

export async function ssmClient(aws: AwsSection, opts: ClientOptions = {}): Promise<SSMClient> {
  const { SSMClient } = await import('@aws-sdk/client-ssm');
  return new SSMClient(common(aws, aws.ssm_endpoint, opts));
}

/** The metadata endpoint the driver itself uses (never the job). */
export function imdsEndpoint(aws: AwsSection): string {
  return aws.imds_endpoint !== '' ? aws.imds_endpoint.replace(/\/+$/, '') : DEFAULT_IMDS;
}
