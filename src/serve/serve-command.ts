// CLI glue for `jobrole serve`: check the config for the broker, start it, wire SIGHUP (TLS reload) and SIGTERM (drain).

import { ConfigError } from '../config/fields.js';
import type { JobroleConfig } from '../config/types.js';
import { SystemFailure } from '../core/exit-codes.js';
import { startBroker } from './server.js';
import { serveSettings } from './serve-rules.js';

export async function serveCommand(config: JobroleConfig): Promise<number> {
  let settings;
  try {
    settings = serveSettings(config);
  } catch (err) {
    if (err instanceof ConfigError) throw new SystemFailure(`config ${config.source}: ${err.message}`, { cause: err });
    throw err;
  }
  const line = (m: string) => void process.stderr.write(`jobrole serve: ${m}\n`);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const broker = await startBroker(config, settings, { info: line, warn: (m) => line(`warning: ${m}`) });
  const roles = config.roles.map((r) => r.name).join(', ') || 'none';
  line(
    `listening on ${broker.url} (audience ${JSON.stringify(settings.audience)}, issuer ${config.gitlab.url}; roles: ${roles}${config.policy.ssm_parameter !== '' ? ` + central policy ${config.policy.ssm_parameter}` : ''})`,
  );
  const onHup = () => void broker.reloadTls();
  const onTerm = (signal: string) => () => {
    line(`${signal}: draining in-flight requests`);
    void broker.drain();
  };
  const term = onTerm('SIGTERM');
  const int = onTerm('SIGINT');
  process.on('SIGHUP', onHup);
  process.on('SIGTERM', term);
  process.on('SIGINT', int);
  await broker.done;
  process.off('SIGHUP', onHup);
  process.off('SIGTERM', term);
  process.off('SIGINT', int);
  line('drained; exiting');
  return 0;
}
