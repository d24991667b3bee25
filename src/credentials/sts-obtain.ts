// What the assume-role and web-identity strategies share: one STS call per session, from the recipe the endpoint refreshes with.

import type { ObtainRequest, Obtained } from './strategy.js';
import { sessionFromSpec } from './session-source.js';
import { sessionSpec } from './session-spec.js';

export async function obtainFromSts(req: ObtainRequest): Promise<Obtained> {
  const spec = sessionSpec(req.config, req.role, req.ctx);
  const session = await sessionFromSpec(spec, req.aws);
  return {
    session,
    source: spec,
    refresh: { beforeSeconds: req.config.job.refresh_before },
    // The job's ID token is a credential too (for web-identity roles it IS the credential): masked everywhere.
    secrets: req.ctx.idToken !== undefined ? [req.ctx.idToken.raw] : [],
  };
}
