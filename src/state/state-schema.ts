// The one schema of state.json (JobState): validates a parsed record and names the first bad field.

import { DELIVERIES, STRATEGIES } from '../config/types.js';
import type { BrokerRecord, InstanceProfileUndo, JobState, JobUser, SandboxRecord } from './types.js';

/** A record that is not a JobState; `field` is the dotted path of the first bad field ('' = the whole record). */
export class RecordError extends Error {
  override readonly name = 'RecordError';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(field === '' ? problem : `${field} ${problem}`);
  }
}

type Check<T> = (raw: unknown, field: string) => T;

function fail(field: string, problem: string): never {
  throw new RecordError(field, problem);
}

const kind = (raw: unknown): string => (raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw);

export const str: Check<string> = (raw, field) => (typeof raw === 'string' ? raw : fail(field, `is ${kind(raw)}, expected a string`));

const isoDate: Check<string> = (raw, field) => {
  const s = str(raw, field);
  return Number.isNaN(new Date(s).getTime()) ? fail(field, `is ${JSON.stringify(s.slice(0, 40))}, expected a date`) : s;
};

export const int: Check<number> = (raw, field) =>
  typeof raw === 'number' && Number.isSafeInteger(raw)
    ? raw
    : fail(field, `is ${kind(raw)}${typeof raw === 'number' ? ` ${raw}` : ''}, expected a whole number`);

export const oneOf =
  <T extends string>(...values: T[]): Check<T> =>
  (raw, field) =>
    typeof raw === 'string' && (values as string[]).includes(raw)
      ? (raw as T)
      : fail(field, `is ${JSON.stringify(raw) ?? kind(raw)}, expected one of ${values.join(', ')}`);

/** Absent (or null, as JSON writes some undefined values) is undefined; anything else must pass `check`. */
export const optional =
  <T>(check: Check<T>): Check<T | undefined> =>
  (raw, field) =>
    raw === undefined || raw === null ? undefined : check(raw, field);

export const arrayOf =
  <T>(check: Check<T>): Check<T[]> =>
  (raw, field) =>
    Array.isArray(raw) ? raw.map((v, i) => check(v, `${field}[${i}]`)) : fail(field, `is ${kind(raw)}, expected a list`);

const recordOf =
  <T>(check: Check<T>): Check<Record<string, T>> =>
  (raw, field) => {
    const o = object(raw, field);
    for (const [k, v] of Object.entries(o)) check(v, `${field}.${k}`);
    return o as Record<string, T>;
  };

function object(raw: unknown, field: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(field, `is ${kind(raw)}, expected an object`);
  return raw as Record<string, unknown>;
}

/** An object whose listed fields each pass their check (an optional null becomes absent); unknown extra fields are kept. */
export const shape =
  <T>(fields: { [K in keyof T]-?: Check<T[K]> }): Check<T> =>
  (raw, field) => {
    const out: Record<string, unknown> = { ...object(raw, field) };
    for (const [k, check] of Object.entries<Check<unknown>>(fields)) {
      const v = check(out[k], field === '' ? k : `${field}.${k}`);
      if (v === undefined) delete out[k];
      else out[k] = v;
    }
    return out as T;
  };

const startTime = optional(str);

const jobUser = shape<JobUser>({ name: str, uid: int, gid: int, home: str });
const broker = shape<BrokerRecord>({
  pid: int,
  startTime,
  port: int,
  feedSocket: str,
  fence: optional(shape<NonNullable<BrokerRecord['fence']>>({ table: str, chain: str })),
});
const sandbox = shape<SandboxRecord>({ initPid: int, startTime, cgroup: optional(str) });
const instanceProfile = shape<InstanceProfileUndo>({
  instanceId: str,
  baselineProfileArn: optional(str),
  baselineAssociationId: optional(str),
  jobAssociationId: optional(str),
  jobProfile: str,
});

/** The driver's own credentials captured before an instance-profile swap (JobState.instanceProfileBaseline). */
export const baselineCredentials = shape<NonNullable<JobState['instanceProfileBaseline']>>({
  roleName: optional(str),
  accessKeyId: str,
  secretAccessKey: str,
  sessionToken: str,
  expiration: isoDate,
});

const jobState = shape<JobState>({
  version: (raw, field) => (raw === 1 ? 1 : fail(field, `is ${JSON.stringify(raw) ?? kind(raw)}, expected 1 (a state file of another jobrole version?)`)),
  key: str,
  createdAt: isoDate,
  deadline: isoDate,
  runner: shape<JobState['runner']>({ pid: int, startTime, tmpDir: str }),
  job: shape<JobState['job']>({ id: int, projectId: int, projectPath: str, pipelineId: optional(int), ref: str }),
  slot: int,
  isolation: oneOf('users', 'none'),
  user: optional(jobUser),
  phase: oneOf('configured', 'prepared', 'scrubbing'),
  role: optional(
    shape<NonNullable<JobState['role']>>({
      name: str,
      arn: str,
      strategy: oneOf(...STRATEGIES),
      delivery: oneOf(...DELIVERIES, 'instance-metadata'),
      sessionName: str,
      sourceIdentity: optional(str),
      assumedRoleArn: optional(str),
      expiration: str,
    }),
  ),
  jobEnv: recordOf(str),
  secrets: arrayOf(str),
  files: arrayOf(str),
  broker: optional(broker),
  instanceProfile: optional(instanceProfile),
  instanceProfileBaseline: optional(baselineCredentials),
  sandbox: optional(sandbox),
  scrubber: optional(shape<NonNullable<JobState['scrubber']>>({ pid: int, startTime })),
});

/** A parsed state.json as a JobState, or RecordError naming the first bad field. */
export function parseJobState(value: unknown): JobState {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('', `is ${kind(value)}, not a jobrole job state object`);
  return jobState(value, '');
}

/** state.json text as a JobState, or RecordError (the text is not JSON, or not a job state). */
export function parseJobStateText(text: string): JobState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    fail('', `is not JSON (${(err as Error).message}${text.trim() === '' ? ', the file is empty' : ''})`);
  }
  return parseJobState(value);
}
