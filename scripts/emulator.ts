// Runs the local AWS emulator (STS/EC2/SSM, IMDSv2, OIDC issuer) until SIGTERM and prints its URLs as one JSON line.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startAwsEmulator, type RoleDef } from '../test/fakes/aws-emulator.js';

const USAGE = `usage: tsx scripts/emulator.ts [--roles roles.json] [--scale 0.01] [--propagation-ms 500]
       [--account 111122223333] [--region us-east-1] [--port N] [--imds-port N] [--oidc-port N]
  roles.json: [{ "arn": "...", "maxSessionDuration": 3600, "trust": { "principals": ["*"] } }, ...]`;

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name}: expected a number, got '${v}'`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      roles: { type: 'string' },
      scale: { type: 'string' },
      'propagation-ms': { type: 'string' },
      account: { type: 'string' },
      region: { type: 'string' },
      port: { type: 'string' },
      'imds-port': { type: 'string' },
      'oidc-port': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const scale = num(values.scale, 'scale');
  const propagation = num(values['propagation-ms'], 'propagation-ms');
  const aws = num(values.port, 'port');
  const imds = num(values['imds-port'], 'imds-port');
  const oidc = num(values['oidc-port'], 'oidc-port');
  const emu = await startAwsEmulator({
    ...(values.account !== undefined ? { account: values.account } : {}),
    ...(values.region !== undefined ? { region: values.region } : {}),
    ...(scale !== undefined ? { credentialLifetimeScale: scale } : {}),
    ...(propagation !== undefined ? { imdsPropagationMs: propagation } : {}),
    ports: { ...(aws !== undefined ? { aws } : {}), ...(imds !== undefined ? { imds } : {}), ...(oidc !== undefined ? { oidc } : {}) },
  });
  if (values.roles !== undefined) {
    const roles = JSON.parse(readFileSync(values.roles, 'utf8')) as RoleDef[];
    for (const r of roles) emu.addRole(r);
  }
  process.stdout.write(
    JSON.stringify({
      endpoint: emu.endpoint,
      imdsEndpoint: emu.imdsEndpoint,
      oidcIssuer: emu.oidc.issuer,
      region: emu.region,
      account: emu.account,
      instanceId: emu.instanceId,
      hostRoleArn: emu.hostRoleArn,
      hostProfileArn: emu.hostProfileArn,
      host: emu.host,
    }) + '\n',
  );
  const stop = () => {
    emu.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`emulator: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  process.exit(2);
});
