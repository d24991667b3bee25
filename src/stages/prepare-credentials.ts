// Prepare's credential step: the role's strategy → a session, and the delivery that hands it to the job.

import type { Delivery, JobroleConfig, RoleConfig } from '../config/types.js';
import type { JobContext } from '../runner/job-context-types.js';
import type { JobLog } from '../core/job-log.js';
import type { IssuedSession } from '../core/credential-types.js';
import { sessionSpec } from '../credentials/session-spec.js';
import { sessionFromSpec, type SessionSpec } from '../credentials/session-source.js';
import { credentialEnv, credentialSecrets, regionEnv } from '../delivery/env.js';
import { jobFilesDir, type StateLayout } from '../state/job-store.js';
import { ensurePrivateDir } from '../core/secure-fs.js';
import type { JobState } from '../state/types.js';
import { BuildFailure } from '../core/exit-codes.js';

export interface Delivered {
  session: IssuedSession;
  delivery: Delivery;
}

/** Records side effects in the state as they happen, so a failure mid-way can still be undone. */
export type Persist = (patch: Partial<JobState>) => Promise<void>;

/** Obtains the session and delivers it; returns what the summary shows. */
export async function obtainAndDeliver(
  deps: { config: JobroleConfig; layout: StateLayout; log: JobLog; persist: Persist; cliPath: string },
  state: JobState,
  role: RoleConfig,
  ctx: JobContext,
): Promise<Delivered> {
  const { config, layout, persist } = deps;
  const delivery: Delivery = role.delivery ?? config.job.delivery;
  const spec = sessionSpec(config, role, ctx);
  const session = await sessionFromSpec(spec);
  const region = regionEnv(config.aws.region);
  // The job's ID token is a credential too (for web-identity roles it IS the credential): mask it everywhere.
  const secrets = [...credentialSecrets(session.credentials), ...(ctx.idToken !== undefined ? [ctx.idToken.raw] : [])];
  // Root's files, readable by the job's group: the job can read them but never replace, move or chmod them.
  const owner = state.user !== undefined ? { uid: 0, gid: state.user.gid } : undefined;
  const dirMode = owner !== undefined ? 0o750 : 0o700;
  const fileMode = owner !== undefined ? 0o640 : 0o600;
  const filesDir = jobFilesDir(layout, state.key);

  switch (delivery) {
    case 'env':
      await persist({ secrets, jobEnv: { ...credentialEnv(session.credentials), ...region } });
      break;
    case 'file': {
      const { writeCredentialFiles } = await import('../delivery/file.js');
      await ensurePrivateDir(filesDir, dirMode, owner);
      await persist({ files: [filesDir], secrets });
      const written = await writeCredentialFiles(filesDir, session.credentials, config.aws.region, owner, fileMode);
      await persist({ jobEnv: { ...written.env, ...region } });
      break;
    }
    case 'web-identity-file': {
      const { writeWebIdentityFile, webIdentityEnv } = await import('../delivery/web-identity-file.js');
      const token = spec.webIdentityToken;
      if (token === undefined) throw new BuildFailure(`role "${role.name}" is delivered as a web-identity token file, and the job supplied no ID token (declare id_tokens: in the job)`);
      await ensurePrivateDir(filesDir, dirMode, owner);
      await persist({ files: [filesDir], secrets });
      const { path } = await writeWebIdentityFile(filesDir, token, owner, fileMode);
      await persist({ jobEnv: { ...webIdentityEnv({ roleArn: role.arn, tokenFile: path, sessionName: spec.sessionName }), ...region } });
      break;
    }
    case 'endpoint': {
      const { startJobEndpoint } = await import('./prepare-endpoint.js');
      await startJobEndpoint(deps, state, { session, spec, refresh: { beforeSeconds: config.job.refresh_before }, secrets, roleName: role.name });
      break;
    }
  }
  return { session, delivery };
}
