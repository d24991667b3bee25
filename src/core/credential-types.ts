// Shapes shared by every credential strategy, delivery and the broker.

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/** What a strategy hands back: the credentials plus what the job log and audit log may show about them. */
export interface IssuedSession {
  credentials: AwsCredentials;
  /** The role's ARN as configured. */
  roleArn: string;
  /** The assumed-role ARN STS answered (arn:aws:sts::ACCT:assumed-role/NAME/SESSION), when known. */
  assumedRoleArn?: string;
  sessionName: string;
  sourceIdentity?: string;
  /** Session tag keys actually sent (optional ones may have been dropped on PackedPolicyTooLarge). */
  tagKeys?: string[];
}

/** Fetches a fresh session for one job's role; called once at prepare and again by the broker to refresh. */
export type SessionSource = () => Promise<IssuedSession>;

/** How the credentials endpoint keeps a strategy's session fresh. */
export interface RefreshPlan {
  /** Ask the source again this long before the session expires (never before half its life has passed). */
  beforeSeconds: number;
  /** Also ask this often (ms): the source rotates credentials by itself (IMDS). */
  pollMs?: number;
}
