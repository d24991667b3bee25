// Services for stage unit tests: a temp filesystem root, recorded audit and log, fake host, strategies and deliveries.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/load.js';
import type { Strategy } from '../../src/config/types.js';
import type { AuditLog, AuditRecord } from '../../src/audit/audit-log.js';
import type { AwsServices } from '../../src/aws/services.js';
import type { JobLog } from '../../src/core/job-log.js';
import type { UndoStep } from '../../src/core/undo-step.js';
import type { CredentialStrategy, ObtainRequest, Obtained } from '../../src/credentials/strategy.js';
import { sessionSpec } from '../../src/credentials/session-spec.js';
import type { DeliveryMethod } from '../../src/delivery/delivery.js';
import { envDelivery } from '../../src/delivery/env-delivery.js';
import { fileDelivery } from '../../src/delivery/file-delivery.js';
import { webIdentityFileDelivery } from '../../src/delivery/web-identity-file-delivery.js';
import type { VerifiedIdToken } from '../../src/identity/claims.js';
import { ensureStateLayout, stateLayout } from '../../src/state/job-store.js';
import type { Liveness } from '../../src/state/liveness.js';
import type { JobState, JobUser } from '../../src/state/types.js';
import type { JobHost, Services } from '../../src/stages/services.js';
import { DEPLOYER_ROLE } from '../harness/roles.js';
import { buildJobResponse, type JobResponseInput } from '../harness/job-response.js';

const ROLES = `${DEPLOYER_ROLE}
[[roles]]
name = "swapper"
arn = "arn:aws:iam::111122223333:role/swapper"
strategy = "instance-profile"
instance_profile = "swapper-profile"
  [roles.allow]
  projects = ["group/app"]
`;

export interface Recorder {
  /** Every call a fake saw, in order ("obtain assume-role", "undo step restore", ...). */
  calls: string[];
  audit: AuditRecord[];
  lines: string[];
  warnings: string[];
}

export interface FakeOptions {
  /** [job].delivery (default env). */
  delivery?: 'endpoint' | 'env' | 'file';
  /** [driver].firewall_table (default jobrole). */
  firewallTable?: string;
  /** More lines inside [job]. */
  toml?: string;
  /** Makes a strategy's obtain throw after it persisted its undo record. */
  obtainFails?: Partial<Record<Strategy, Error>>;
  /** Names of undo/teardown steps that throw. */
  failingSteps?: string[];
  idToken?: VerifiedIdToken;
  /** isolation "users" with this job user for every slot (default: isolation "none"). */
  user?: JobUser;
  /** The IMDS fence check before a restore fails with this. */
  fenceFails?: Error;
  /** Liveness the fake host reports, by job key (default: not live). */
  live?: Record<string, Liveness>;
}

export interface FakeWorld {
  dir: string;
  svc: Services;
  rec: Recorder;
  /** A runner environment for job `input`: JOB_RESPONSE_FILE written, CUSTOM_ENV_* for `vars`. */
  jobEnv(input?: JobResponseInput, vars?: Record<string, string>): Promise<NodeJS.ProcessEnv>;
}

const unusedAws: AwsServices = {
  sts: () => Promise.reject(new Error('unit test: no STS')),
  ec2: () => Promise.reject(new Error('unit test: no EC2')),
  ssm: () => Promise.reject(new Error('unit test: no SSM')),
  imds: () => {
    throw new Error('unit test: no IMDS');
  },
};

export async function fakeWorld(t: { after: (fn: () => Promise<void>) => void }, opts: FakeOptions = {}): Promise<FakeWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-stage-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const stateDir = join(dir, 'state');
  const config = parseConfigText(
    `
[driver]
state_dir = "${stateDir}"
builds_dir = "${join(dir, 'builds')}"
cache_dir = "${join(dir, 'cache')}"
audit_log = "${join(dir, 'audit.jsonl')}"
home_dir = "${join(dir, 'home')}"
slots = 1
firewall_table = "${opts.firewallTable ?? 'jobrole'}"
[job]
isolation = "${opts.user !== undefined ? 'users' : 'none'}"
delivery = "${opts.delivery ?? 'env'}"
${opts.toml ?? ''}
${ROLES}`,
    join(dir, 'config.toml'),
  );
  const layout = stateLayout(stateDir);
  await ensureStateLayout(layout);
  const rec: Recorder = { calls: [], audit: [], lines: [], warnings: [] };
  const log: JobLog = {
    line: (l) => {
      rec.lines.push(l);
    },
    ok: (l) => {
      rec.lines.push(l);
    },
    warn: (l) => {
      rec.warnings.push(l);
    },
    error: (l) => {
      rec.warnings.push(l);
    },
    section: async (_n, _h, body) => body(),
  };
  const audit: AuditLog = {
    write: async (r) => {
      rec.audit.push(r);
    },
  };
  const step = (name: string): UndoStep => ({
    name,
    run: async () => {
      rec.calls.push(`step ${name}`);
      if (opts.failingSteps?.includes(name)) throw new Error(`${name} failed (fake)`);
    },
  });
  const host: JobHost = {
    prepareUser: async () => opts.user,
    lookupUser: async () => opts.user,
    startSandbox: async () => {
      rec.calls.push('start sandbox');
    },
    sandboxSteps: (state) => (state.sandbox !== undefined ? [step("end the job's sandbox")] : []),
    slotSteps: (slot) => [step(`scrub slot ${slot}`)],
    fenceForRestore: async () => {
      rec.calls.push('fence check');
      if (opts.fenceFails !== undefined) throw opts.fenceFails;
      return 'in place';
    },
    liveness: async (state) => opts.live?.[state.key] ?? { live: false, why: 'fake: not live' },
  };
  const sts = (name: Strategy): CredentialStrategy => ({
    name,
    async obtain(req: ObtainRequest): Promise<Obtained> {
      rec.calls.push(`obtain ${name} ${req.role.name}`);
      const failure = opts.obtainFails?.[name];
      if (failure !== undefined) throw failure;
      return {
        session: {
          credentials: {
            accessKeyId: 'ASIAFAKEUNITTEST0001',
            secretAccessKey: 'fake-secret-key-unit-test',
            sessionToken: 'fake-session-token-unit-test',
            expiration: new Date(Date.now() + 3600_000),
          },
          roleArn: req.role.arn,
          sessionName: `gitlab-${req.ctx.projectId.value}-${req.ctx.jobId.value}`,
        },
        source: sessionSpec(req.config, req.role, req.ctx),
        refresh: { beforeSeconds: req.config.job.refresh_before },
        secrets: req.ctx.idToken !== undefined ? [req.ctx.idToken.raw] : [],
      };
    },
    undo: () => [],
  });
  // Like the real one: the undo record goes into the state before the change it undoes.
  const swapping: CredentialStrategy = {
    name: 'instance-profile',
    async obtain(req) {
      rec.calls.push(`obtain instance-profile ${req.role.name}`);
      await req.persist({
        instanceProfile: {
          instanceId: 'i-0fake',
          baselineProfileArn: 'arn:aws:iam::111122223333:instance-profile/host',
          baselineAssociationId: 'iip-assoc-1',
          jobAssociationId: undefined,
          jobProfile: 'swapper-profile',
        },
      });
      const failure = opts.obtainFails?.['instance-profile'];
      if (failure !== undefined) throw failure;
      throw new Error('fake instance-profile strategy only records its undo');
    },
    undo: (state) => (state.instanceProfile !== undefined ? [step(`restore the instance profile of ${state.instanceProfile.instanceId}`)] : []),
  };
  const endpoint: DeliveryMethod = {
    name: 'endpoint',
    describe: 'a fake endpoint',
    renews: true,
    async deliver(req) {
      rec.calls.push('deliver endpoint');
      await req.persist({
        secrets: [...req.secrets, 'fake-endpoint-token'],
        broker: { pid: 999999, startTime: '1', port: 1, feedSocket: join(dir, 'feed.sock') },
        jobEnv: { AWS_CONTAINER_AUTHORIZATION_TOKEN: 'fake-endpoint-token' },
      });
    },
    teardown: (state) => (state.broker !== undefined ? [step('stop the credentials endpoint')] : []),
  };
  const svc: Services = {
    config,
    log,
    layout,
    now: () => new Date(),
    audit,
    aws: unusedAws,
    fleetPolicy: async () => config,
    verifyIdToken: async () => opts.idToken,
    host,
    strategies: { 'assume-role': sts('assume-role'), 'web-identity': sts('web-identity'), 'instance-profile': swapping },
    deliveries: { endpoint, env: envDelivery, file: fileDelivery, 'web-identity-file': webIdentityFileDelivery },
    cliPath: '/nonexistent/jobrole',
  };
  return {
    dir,
    svc,
    rec,
    async jobEnv(input = {}, vars = {}) {
      const file = join(dir, `response-${input.jobId ?? 4242}.json`);
      await writeFile(file, JSON.stringify(buildJobResponse(input)));
      return { JOB_RESPONSE_FILE: file, ...Object.fromEntries(Object.entries(vars).map(([k, v]) => [`CUSTOM_ENV_${k}`, v])) };
    },
  };
}

/** The state of the one job in the world (after config ran). */
export async function onlyState(w: FakeWorld): Promise<JobState | undefined> {
  const { listJobKeys, readJobState } = await import('../../src/state/job-store.js');
  const keys = await listJobKeys(w.svc.layout);
  return keys.length === 0 ? undefined : readJobState(w.svc.layout, keys[0] as string);
}
