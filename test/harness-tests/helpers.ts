// Shared set-up for the harness's self-tests: a private temp root, the fake driver, and its call records.
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fakeDriver } from '../harness/fake-driver.js';
import type { RunJobOptions } from '../harness/types.js';

export interface DriverCall {
  stage: string;
  runStage: string | null;
  argv: string[];
  cwd: string;
  pid: number;
  pgid: number;
  stdin: string | null;
  responseMode: number | null;
  env: Record<string, string>;
}

export interface Sandbox {
  root: string;
  record: string;
  stateDir: string;
  /** Options for runJob with the fake driver, a private tmpRoot and a fast retry. */
  options(extra?: Partial<RunJobOptions> & { fakeEnv?: Record<string, string> }): RunJobOptions;
  calls(): Promise<DriverCall[]>;
  leftovers(): Promise<string[]>;
}

export async function sandbox(t: TestContext): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), 'harness-test-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const tmpRoot = join(root, 'tmp');
  await mkdir(tmpRoot);
  const record = join(root, 'calls.jsonl');
  const stateDir = join(root, 'state');
  return {
    root,
    record,
    stateDir,
    options({ fakeEnv, ...extra } = {}) {
      return {
        driver: fakeDriver(),
        runnerEnv: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: root, FAKE_RECORD: record, FAKE_STATE_DIR: stateDir, ...fakeEnv },
        steps: { script: ['echo hello from the job'] },
        tmpRoot,
        prepareRetryDelayMs: 20,
        ...extra,
      };
    },
    async calls() {
      const text = await readFile(record, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as DriverCall);
    },
    leftovers: () => readdir(tmpRoot),
  };
}

export const stageNames = (stages: Array<{ name: string }>): string[] => stages.map((s) => s.name);
