// The AWS clients a process is given by its composition root (real ones lazily load the SDK; tests pass fakes).

import type { STSClient } from '@aws-sdk/client-sts';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { AwsSection } from '../config/types.js';
import { ec2Client, imdsEndpoint, ssmClient, stsClient, type ClientOptions } from './clients.js';
import { createImdsClient, type ImdsClient } from './imds.js';

export interface AwsServices {
  sts: (aws: AwsSection, opts?: ClientOptions) => Promise<STSClient>;
  ec2: (aws: AwsSection, opts?: ClientOptions) => Promise<EC2Client>;
  ssm: (aws: AwsSection, opts?: ClientOptions) => Promise<SSMClient>;
  /** The metadata service as the driver (root) reaches it; never the job. */
  imds: (aws: AwsSection) => ImdsClient;
}

export const realAwsServices: AwsServices = {
  sts: stsClient,
  ec2: ec2Client,
  ssm: ssmClient,
  imds: (aws) => createImdsClient({ endpoint: imdsEndpoint(aws) }),
};
