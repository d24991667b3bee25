// Shared bits of the emulator's own tests: SDK clients pointed at it, a clean environment for CLI children.
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient, type Credentials } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import type { AwsEmulator } from '../fakes/aws-emulator.js';

export type Creds = AwsCredentialIdentity;

export function fromSts(c: Credentials | undefined): Creds {
  if (c?.AccessKeyId === undefined || c.SecretAccessKey === undefined) throw new Error('no credentials in the answer');
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, ...(c.SessionToken !== undefined ? { sessionToken: c.SessionToken } : {}) };
}

export function hostCreds(emu: AwsEmulator): Creds {
  return { accessKeyId: emu.host.accessKeyId, secretAccessKey: emu.host.secretAccessKey };
}

const common = (emu: AwsEmulator, maxAttempts: number) => ({ region: emu.region, endpoint: emu.endpoint, maxAttempts });

export function sts(emu: AwsEmulator, credentials: Creds = hostCreds(emu), maxAttempts = 1): STSClient {
  return new STSClient({ ...common(emu, maxAttempts), credentials });
}

export function ec2(emu: AwsEmulator, credentials: Creds = hostCreds(emu), maxAttempts = 1): EC2Client {
  return new EC2Client({ ...common(emu, maxAttempts), credentials });
}

export function ssm(emu: AwsEmulator, credentials: Creds = hostCreds(emu), maxAttempts = 1): SSMClient {
  return new SSMClient({ ...common(emu, maxAttempts), credentials });
}

/** The error name/code an SDK call rejected with. */
export async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string; status: number | undefined }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail, it succeeded');
}

/** An environment for awscli / boto3 children with nothing of ours or the machine's AWS setup in it. */
export function cleanEnv(extra: Record<string, string>): Record<string, string> {
  return {
    PATH: '/usr/bin:/bin',
    HOME: '/nonexistent',
    LANG: 'C.UTF-8',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
    ...extra,
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
