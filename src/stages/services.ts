// What a stage is given: every service it uses, built once per process by compose.ts (tests pass fakes).

import type { AuditLog } from '../audit/audit-log.js';
import type { AwsServices } from '../aws/services.js';
import type { Delivery, JobroleConfig, Strategy } from '../config/types.js';
import type { JobLog } from '../core/job-log.js';
import type { UndoStep } from '../core/undo-step.js';
import type { CredentialStrategy, Persist } from '../credentials/strategy.js';
import type { DeliveryMethod } from '../delivery/delivery.js';
import type { VerifiedIdToken } from '../identity/claims.js';
import type { StateLayout } from '../state/job-store.js';
import type { Liveness } from '../state/liveness.js';
import type { JobState, JobUser } from '../state/types.js';

/** The host side of a job: its user, its sandbox, its processes. Real ones need root; unit tests fake them. */
export interface JobHost {
  /** The slot's job user, verified clean and fenced off IMDS; undefined with isolation = "none". */
  prepareUser(slot: number): Promise<JobUser | undefined>;
  /** The slot's job user as it exists now (no checks); undefined when there is none. */
  lookupUser(slot: number): Promise<JobUser | undefined>;
  /** Starts the job's sandbox, recording it through persist as soon as its init runs. */
  startSandbox(state: JobState, user: JobUser, persist: Persist): Promise<void>;
  /** Ends the job's sandbox (the kernel ends every process in it). */
  sandboxSteps(state: JobState): UndoStep[];
  /** Verifies no process of the slot's user is left, then clears its keyrings, directories and home. */
  slotSteps(slot: number, user: JobUser, key: string | undefined): UndoStep[];
  /** The IMDS fence in front of a profile restore, for every job user and this job's (isolation/imds-fence.ts). */
  fenceForRestore(state: JobState): Promise<'in place' | 're-installed' | 'no job users' | 'not needed'>;
  /** Whether a job is still running (its runner alive, its deadline ahead, or its scrubber alive). */
  liveness(state: JobState): Promise<Liveness>;
}

export interface Services {
  /** config.toml as loaded; prepare adds the fleet's central policy through fleetPolicy. */
  config: JobroleConfig;
  log: JobLog;
  /** The filesystem root of everything the driver keeps (state, slots, caches). */
  layout: StateLayout;
  now: () => Date;
  audit: AuditLog;
  aws: AwsServices;
  /** The policy source: config.toml plus the central policy from SSM when one is configured. */
  fleetPolicy: () => Promise<JobroleConfig>;
  /** The job's GitLab ID token, verified; undefined when it has none or verification is not configured. */
  verifyIdToken: (config: JobroleConfig, env: NodeJS.ProcessEnv) => Promise<VerifiedIdToken | undefined>;
  host: JobHost;
  strategies: Readonly<Record<Strategy, CredentialStrategy>>;
  deliveries: Readonly<Record<Delivery, DeliveryMethod>>;
  /** This program, for the processes it starts (the per-job endpoint). */
  cliPath: string;
}
