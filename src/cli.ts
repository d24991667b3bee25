// The yargs command line: the four stage handlers plus the operator commands (gc, host init, doctor, explain).

import yargs from 'yargs';
import { configPath, loadConfig } from './config/load.js';
import type { JobroleConfig } from './config/types.js';
import { jobLog, stderrLog, type JobLog } from './core/job-log.js';
import { printError, runStageCommand } from './runner/stage-command.js';
import { SystemFailure } from './core/exit-codes.js';
import { VERSION } from './core/version.js';
import { authorControlledWarnings } from './policy/author-controlled.js';

interface Global {
  config?: string | undefined;
}

const load = (argv: Global): Promise<JobroleConfig> => loadConfig(configPath(argv.config, process.env));

/** For operator commands: the config plus its warnings on stderr (never in a job's log). */
async function loadWarn(argv: Global): Promise<JobroleConfig> {
  const config = await load(argv);
  for (const w of authorControlledWarnings(config.roles)) process.stderr.write(`jobrole: warning: ${w}\n`);
  return config;
}

/** Operator commands: errors print one line and exit 1. */
async function operator(fn: () => Promise<number | void>): Promise<number> {
  try {
    return (await fn()) ?? 0;
  } catch (err) {
    printError(err);
    return 1;
  }
}

export async function runCli(argv: string[]): Promise<number> {
  let code = 0;
  const set = (c: number) => {
    code = c;
  };
  const cliPath = process.argv[1] ?? 'jobrole';
  /** The composition root of a stage or gc process: every service built once from the config. */
  const services = async (config: JobroleConfig, log: JobLog) => {
    const { composeServices } = await import('./stages/compose.js');
    return composeServices(config, log, cliPath);
  };
  const parser = yargs(argv)
    .scriptName('jobrole')
    .usage('$0 <command>\n\nGitLab Runner custom-executor driver: each CI job gets its own short-lived AWS role.')
    .option('config', { alias: 'c', type: 'string', describe: 'config file (else $JOBROLE_CONFIG, else /etc/jobrole/config.toml)' })
    .command(
      'config',
      'stage: print the runner JSON (builds_dir, cache_dir, job_env)',
      (y) => y,
      async (a) => {
        set(
          await runStageCommand('config', process.env, async () => {
            const { configStage } = await import('./stages/config.js');
            await configStage(await services(await load(a), stderrLog()), process.env, process.stdout);
          }),
        );
      },
    )
    .command(
      'prepare',
      'stage: decide the role, obtain and deliver credentials',
      (y) => y,
      async (a) => {
        set(
          await runStageCommand('prepare', process.env, async () => {
            const { prepareStage } = await import('./stages/prepare.js');
            await prepareStage(await services(await load(a), jobLog()), process.env);
          }),
        );
      },
    )
    .command(
      'run <script> <stage>',
      'stage: run one generated stage script as the job',
      (y) => y.positional('script', { type: 'string', demandOption: true }).positional('stage', { type: 'string', demandOption: true }),
      async (a) => {
        set(
          await runStageCommand('run', process.env, async (codes) => {
            const { runStage } = await import('./stages/run.js');
            return runStage(a.script, a.stage, process.env, codes);
          }),
        );
      },
    )
    .command(
      'cleanup',
      'stage: scrub everything the job had',
      (y) => y,
      async (a) => {
        set(
          await runStageCommand('cleanup', process.env, async () => {
            const { cleanupStage } = await import('./stages/cleanup.js');
            await cleanupStage(await services(await load(a), stderrLog()), process.env);
          }),
        );
      },
    )
    .command(
      'gc',
      'scrub jobs whose cleanup never ran',
      (y) =>
        y
          .option('all', { type: 'boolean', default: false, describe: 'scrub every job, live or not (only with the runner stopped)' })
          .option('restore', { type: 'boolean', default: false, describe: 'restore a swapped instance profile and clear the unhealthy mark' }),
      async (a) => {
        set(
          await operator(async () => {
            const svc = await services(await loadWarn(a), jobLog());
            if (a.restore) {
              const { operatorRestore } = await import('./stages/restore.js');
              return operatorRestore(svc);
            }
            const { collectGarbage } = await import('./stages/gc.js');
            const r = await collectGarbage(svc, { all: a.all, oldDirs: true });
            process.stdout.write(`jobrole gc: ${r.scrubbed.length} scrubbed, ${r.failed.length} failed, ${r.live.length} live\n`);
            return r.failed.length > 0 ? 1 : 0;
          }),
        );
      },
    )
    .command(
      'host <action>',
      'host init: create job users, directories and the IMDS firewall rule (idempotent)',
      (y) => y.positional('action', { choices: ['init'] as const, demandOption: true }),
      async (a) => {
        set(
          await operator(async () => {
            const config = await loadWarn(a);
            const { hostInit } = await import('./isolation/host-init.js');
            const d = config.driver;
            const lines = await hostInit(
              {
                prefix: d.job_user_prefix,
                slots: d.slots,
                homeRoot: d.home_dir,
                stateDir: d.state_dir,
                buildsDir: d.builds_dir,
                cacheDir: d.cache_dir,
                auditLog: d.audit_log,
                configPath: config.source,
              },
              { nftTable: d.firewall_table },
            );
            for (const l of lines) process.stdout.write(`${l}\n`);
          }),
        );
      },
    )
    .command(
      'doctor',
      'check this host and config; non-zero exit if anything fails',
      (y) =>
        y
          .option('runner-config', { type: 'string', describe: "gitlab-runner's config.toml to check the registration in" })
          .option('dry-run-roles', { type: 'boolean', default: false, describe: 'really assume each role once (900 s, credentials discarded)' })
          .option('serve', {
            type: 'boolean',
            default: false,
            describe: "a jobrole serve host: check [serve] (TLS, listen, issuer), skip the driver's host checks",
          }),
      async (a) => {
        set(
          await operator(async () => {
            const { doctorCommand } = await import('./operator/doctor-command.js');
            return doctorCommand({
              configPath: configPath(a.config, process.env),
              runnerConfig: a['runner-config'],
              dryRunRoles: a['dry-run-roles'],
              serve: a.serve,
            });
          }),
        );
      },
    )
    .command(
      'explain',
      'why a job would get (or not get) a role',
      (y) =>
        y
          .option('response', { type: 'string', describe: "a job response file (JOB_RESPONSE_FILE); without it, the broker's view: the ID token alone" })
          .option('id-token', { type: 'string', describe: "the job's ID token, a file holding it, or - for stdin" })
          .option('var', { type: 'array', string: true, describe: 'a job variable KEY=VALUE (e.g. JOBROLE_ROLE=deploy); repeatable' })
          .option('role', { type: 'string', describe: 'jobrole serve: the role in the URL /v1/credentials/<role> (with --id-token, no --response)' }),
      async (a) => {
        set(
          await operator(async () => {
            if (a.response === undefined) {
              const { explainTokenCommand } = await import('./serve/explain-command.js');
              return explainTokenCommand({ config: await loadWarn(a), idToken: a['id-token'], role: a.role });
            }
            const { explainCommand } = await import('./operator/explain-command.js');
            return explainCommand({ config: await loadWarn(a), responseFile: a.response, idToken: a['id-token'], vars: (a.var ?? []).map(String) });
          }),
        );
      },
    )
    .command(
      'serve',
      "credentials broker (HTTPS) for jobs on any executor: GET /v1/credentials/<role> with the job's ID token",
      (y) => y,
      async (a) => {
        set(
          await operator(async () => {
            const { serveCommand } = await import('./serve/serve-command.js');
            return serveCommand(await load(a));
          }),
        );
      },
    )
    .command('_broker', false, {}, async () => {
      set(
        await operator(async () => {
          const { brokerMain } = await import('./stages/broker.js');
          await brokerMain();
        }),
      );
    })
    .demandCommand(1, 'name a command: config, prepare, run, cleanup, gc, host init, doctor, explain or serve')
    .strict()
    .version(VERSION)
    .help()
    .fail((msg, err) => {
      if (err) throw err;
      printError(new SystemFailure(`${msg} (see jobrole --help)`));
      code = 2;
    });
  await parser.parseAsync();
  return code;
}
