// The one interface every delivery implements: put the credentials in the job's reach, register secrets, tear down.

import type { Delivery, JobroleConfig, RoleConfig } from '../config/types.js';
import type { JobLog } from '../core/job-log.js';
import type { UndoStep } from '../core/undo-step.js';
import type { Obtained, Persist } from '../credentials/strategy.js';
import type { StateLayout } from '../state/job-store.js';
import type { JobState } from '../state/types.js';

export interface DeliverRequest {
  config: JobroleConfig;
  role: RoleConfig;
  obtained: Obtained;
  /** Everything the redactor must mask so far (the session's keys, the ID token): the delivery registers them, and its own. */
  secrets: string[];
  /** The job's verified ID token, when it has one. */
  idToken: string | undefined;
  state: () => JobState;
  /** The job's environment (jobEnv), its secrets and anything to undo go into the state through this, as they happen. */
  persist: Persist;
  layout: StateLayout;
  /** This program, for the endpoint's own process. */
  cliPath: string;
}

export interface TeardownRequest {
  config: JobroleConfig;
  layout: StateLayout;
  log: JobLog;
}

export interface DeliveryMethod {
  readonly name: Delivery;
  /** The job log's "delivered via" line. */
  readonly describe: string;
  /** Whether the job keeps valid credentials past the first session's expiry. */
  readonly renews: boolean;
  deliver(req: DeliverRequest): Promise<void>;
  /**
   * What cleanup runs before anything else to take the credentials out of the job's reach, read from the records
   * deliver persisted (called for every job: a prepare killed mid-way may have left one). Files a delivery writes
   * go into the state's `files` and the job's files directory, which cleanup always removes last.
   */
  teardown(state: JobState, req: TeardownRequest): UndoStep[];
}
