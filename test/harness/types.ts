// Public types of the gitlab-runner harness: what a test passes to runJob and what it gets back.

/** The driver executable and its fixed leading args; the stage args are appended per call. */
export interface DriverCommand {
  command: string;
  args?: string[];
}

/** One entry of the job response's `variables` list, as GitLab sends it. */
export interface JobVariable {
  key: string;
  value: string;
  public?: boolean;
  masked?: boolean;
  /** File-type variable: the driver sees the content, the script gets a path to a file holding it. */
  file?: boolean;
}

export interface JobSteps {
  script: string[];
  afterScript?: string[];
}

export type StagePhase = 'start' | 'end';

export type OnStage = (name: string, phase: StagePhase, info: { pid?: number }) => void | Promise<void>;

export interface RunJobOptions {
  driver: DriverCommand;
  /** The runner process's own environment (default: PATH, HOME, LANG copied from process.env). */
  runnerEnv?: Record<string, string>;
  /** JOB_RESPONSE_FILE content: an object (serialised) or a string written verbatim. */
  response?: object | string;
  /** User job variables, on top of the predefined ones (later wins, as in GitLab). */
  variables?: Record<string, string>;
  steps: JobSteps;
  hasCache?: boolean;
  hasArtifacts?: boolean;
  cancelAfterMs?: number | { stage: string; afterMs: number };
  gracefulKillMs?: number;
  stageTimeoutMs?: number;
  prepareRetryDelayMs?: number;
  tmpRoot?: string;
  keepTmp?: boolean;
  onStage?: OnStage;
}

export type JobStatus = 'success' | 'failed' | 'system_failure' | 'unknown_failure' | 'canceled';

export interface StageRecord {
  name: string;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  /** The harness signalled this call's process group (cancel or timeout). */
  terminated?: 'cancel' | 'timeout';
}

export interface JobResult {
  status: JobStatus;
  /** What GitLab would show: config's stderr, prepare's and run's stdout+stderr, and the runner's own lines. */
  jobLog: string;
  /** cleanup's stdout/stderr and the runner's warnings about it. */
  runnerLog: string;
  configOutput: Record<string, unknown> | undefined;
  stages: StageRecord[];
  buildExitCode: number | undefined;
  prepareAttempts: number;
  tmpDirs: string[];
}
