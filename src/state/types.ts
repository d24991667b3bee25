// The per-job state record that carries a job from config through cleanup (0600, root-only directory).

import type { Delivery, Isolation, Strategy } from '../config/types.js';

export interface JobUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface BrokerRecord {
  pid: number;
  /** /proc/<pid>/stat start time, to tell our broker from a recycled pid. */
  startTime: string | undefined;
  port: number;
  /** Unix socket (in the job's state dir) where run stages learn secrets the broker issues later. */
  feedSocket: string;
  /** The nftables chain that resets every other uid's connection to the endpoint (isolation "users"). */
  fence?: { table: string; chain: string };
}

/** A job's sandbox: the init of its namespaces (pid + start time, so a recycled pid is never signalled). */
export interface SandboxRecord {
  initPid: number;
  startTime: string | undefined;
  /** The job's cgroup v2 directory, when the host has one. */
  cgroup?: string;
}

export interface InstanceProfileUndo {
  instanceId: string;
  /** The association present before the swap; undefined = the instance had no profile. */
  baselineProfileArn: string | undefined;
  baselineAssociationId: string | undefined;
  /** The association the job's profile got; cleared once restored. */
  jobAssociationId: string | undefined;
  jobProfile: string;
}

export interface JobState {
  version: 1;
  /** Unique per prepare attempt: <jobId>-<random>. Names the state directory. */
  key: string;
  createdAt: string;
  /** After this instant the job is over whatever happened (timeout + grace); gc scrubs it. */
  deadline: string;
  runner: { pid: number; startTime: string | undefined; tmpDir: string };
  /** pipelineId only when the response file has one (runner >= 19.0): never a made-up 0. */
  job: { id: number; projectId: number; projectPath: string; pipelineId?: number; ref: string };
  slot: number;
  isolation: Isolation;
  user?: JobUser;
  /** 'scrubbing' once cleanup or gc has started on it: never live again. */
  phase: 'configured' | 'prepared' | 'scrubbing';
  role?: {
    name: string;
    arn: string;
    strategy: Strategy;
    /** 'instance-metadata': written by versions before the endpoint served instance profiles; read so their jobs can be undone. */
    delivery: Delivery | 'instance-metadata';
    sessionName: string;
    sourceIdentity?: string;
    assumedRoleArn?: string;
    expiration: string;
  };
  /** Variables the run stage puts in the job's environment (for env delivery these hold the credentials). */
  jobEnv: Record<string, string>;
  /** Every secret value issued to this job so far, for the redactor. */
  secrets: string[];
  /** Per-job files and directories to scrub at cleanup. */
  files: string[];
  broker?: BrokerRecord;
  instanceProfile?: InstanceProfileUndo;
  /** The driver's own credentials captured before an instance-profile swap: the only way to sign the restore. */
  instanceProfileBaseline?: {
    roleName: string | undefined;
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
    expiration: string;
  };
  /** The job's sandbox (isolation "users"), from prepare until cleanup ends it. */
  sandbox?: SandboxRecord;
  /** Who is scrubbing this job (pid + start time): nobody else scrubs it while that process lives. */
  scrubber?: { pid: number; startTime: string | undefined };
}
