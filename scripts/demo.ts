// `npm run demo`: one complete job through all four stages against the embedded AWS emulator; no AWS account, no GitLab.

import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { startAwsEmulator } from '../test/fakes/aws-emulator.js';
import { buildJobResponse, runJob } from '../test/harness/runner.js';

const require = createRequire(import.meta.url);
const stsModule = require.resolve('@aws-sdk/client-sts');

const emu = await startAwsEmulator();
const dir = await mkdtemp(join(tmpdir(), 'jobrole-demo-'));
try {
  const roleArn = `arn:aws:iam::${emu.account}:role/demo-deployer`;
  emu.addRole({ arn: roleArn, trust: { principals: [emu.hostRoleArn] } });
  const configPath = join(dir, 'config.toml');
  await writeFile(
    configPath,
    `
[driver]
state_dir  = "${join(dir, 'state')}"
builds_dir = "${join(dir, 'state', 'builds')}"
cache_dir  = "${join(dir, 'state', 'cache')}"
audit_log  = "${join(dir, 'audit.jsonl')}"

[aws]
sts_endpoint  = "${emu.endpoint}"
imds_endpoint = "${emu.imdsEndpoint}"

[job]
isolation = "none"   # the demo runs as you; on a runner host jobs run as unprivileged job users

[[roles]]
name = "demo-deployer"
arn  = "${roleArn}"
  [roles.allow]
  projects = ["demo/app"]
  refs     = ["main"]
`,
    { mode: 0o600 },
  );

  // Inside the job: the JS SDK (and Debian's AWS CLI when installed) with no setup at all.
  const whoami = join(dir, 'whoami.mjs');
  await writeFile(
    whoami,
    [
      `const { STSClient, GetCallerIdentityCommand } = await import(${JSON.stringify(stsModule)});`,
      'const sts = new STSClient({ endpoint: process.env.DEMO_STS });',
      "console.log('JS SDK in the job sees:', (await sts.send(new GetCallerIdentityCommand({}))).Arn);",
      '',
    ].join('\n'),
  );
  const script = [`node ${whoami}`];
  if (existsSync('/usr/bin/aws')) script.push('/usr/bin/aws sts get-caller-identity --endpoint-url "$DEMO_STS" --query Arn --output text');
  const result = await runJob({
    driver: { command: process.execPath, args: [resolve('dist/jobrole.cjs'), '--config', configPath] },
    response: buildJobResponse({ jobId: 1001, projectId: 42, projectPath: 'demo/app', ref: 'main' }),
    variables: { JOBROLE_ROLE: 'demo-deployer', DEMO_STS: emu.endpoint, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    steps: { script },
    prepareRetryDelayMs: 200,
    tmpRoot: dir,
  });
  process.stdout.write(`${result.jobLog}\n`);
  process.stdout.write('--- stages the runner called ---\n');
  for (const s of result.stages) process.stdout.write(`  ${s.name.padEnd(28)} exit ${s.exitCode ?? s.signal}\n`);
  const got = /JS SDK in the job sees: \S+assumed-role\/([^/\s]+)\/(\S+)/.exec(result.jobLog);
  process.stdout.write(`\njob status: ${result.status}; the job got role ${got ? `"${got[1]}" as session "${got[2]}"` : '(none)'}\n`);
  process.exitCode = result.status === 'success' && got ? 0 : 1;
} finally {
  await emu.stop();
  await rm(dir, { recursive: true, force: true });
}
