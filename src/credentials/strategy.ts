// The one interface every credential strategy implements: obtain a session for an allowed role, say how to refresh it, undo.

import type { AwsServices } from '../aws/services.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Delivery, JobroleConfig, RoleConfig, Strategy } from '../config/types.js';
import type { IssuedSession, RefreshPlan } from '../core/credential-types.js';
import type { JobLog } from '../core/job-log.js';
import type { UndoStep } from '../core/undo-step.js';
import type { JobContext } from '../runner/job-context-types.js';
import type { StateLayout } from '../state/job-store.js';
import type { JobState } from '../state/types.js';
import type { SourceSpec } from './session-source.js';

/** Records side effects in the job's state as they happen, so a failure (or a crash) mid-way can still be undone. */
export type Persist = (patch: Partial<JobState>) => Promise<void>;

export interface ObtainRequest {
  /** The effective config (config.toml plus the fleet's central policy). */
  config: JobroleConfig;
  /** The role the policy allowed. */
  role: RoleConfig;
  /** What GitLab vouches for about the job, with its verified ID token when it has one. */
  ctx: JobContext;
  state: () => JobState;
  /** Undo records go into the state through this before the change they undo is made. */
  persist: Persist;
  layout: StateLayout;
  log: JobLog;
  aws: AwsServices;
}

export interface Obtained {
  /** The first session: what the job gets now. */
  session: IssuedSession;
  /** The serialisable recipe the credentials endpoint obtains the next sessions from (no secret but an ID token). */
  source: SourceSpec;
  refresh: RefreshPlan;
  /** What the job log must never show besides the session's own keys (the job's ID token). */
  secrets: string[];
  /** A strategy that can be handed to the job only one way says so (instance-profile: the endpoint). */
  delivery?: Delivery;
}

export interface UndoRequest {
  config: JobroleConfig;
  layout: StateLayout;
  log: JobLog;
  audit: AuditLog;
  aws: AwsServices;
  /** Verifies (re-installing if needed) that job users, this job's included, are fenced off IMDS; throws if it cannot. */
  fenceForRestore: (state: JobState) => Promise<'in place' | 're-installed' | 'no job users' | 'not needed'>;
}

export interface CredentialStrategy {
  readonly name: Strategy;
  obtain(req: ObtainRequest): Promise<Obtained>;
  /**
   * The steps cleanup runs to undo what obtain changed outside the job's state, read from the undo records
   * obtain persisted (none when it changed nothing: an STS session cannot be revoked, it expires). Called for
   * every job, whatever its role: a prepare killed mid-way may have left a record and no role.
   */
  undo(state: JobState, req: UndoRequest): UndoStep[];
}
