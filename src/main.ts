// Entry point: the run stage takes a fast path with nothing but its own code; everything else goes through the CLI.

import { describeFailure, runStageCommand } from './runner/stage-command.js';

/** The first argument that is not an option or an option's value (the command name). */
function commandOf(argv: string[]): { name: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--config' || a === '-c') {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return { name: a, rest: argv.slice(i + 1) };
  }
  return { name: undefined, rest: [] };
}

async function main(argv: string[]): Promise<number> {
  const { name, rest } = commandOf(argv);
  if (name === 'run' && rest.length >= 2 && !rest.includes('--help')) {
    // `jobrole run <script> <stage>` runs ~10 times per job: no yargs, no config, no AWS SDK.
    const { runStage } = await import('./stages/run.js');
    return runStageCommand('run', process.env, (codes) => runStage(rest[0] as string, rest[1] as string, process.env, codes));
  }
  const { runCli } = await import('./cli.js');
  return runCli(argv);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Exit once our output is flushed, even if an SDK keep-alive socket would hold the loop open.
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  },
  (err: unknown) => {
    process.stderr.write(`jobrole: ${describeFailure(err)}\n`);
    process.exit(70);
  },
);
