// Turns a verified JWT payload into VerifiedClaims: "true"/"false" flags to booleans, the rest as strings.

import type { JWTPayload } from 'jose';
import type { VerifiedClaims } from './claims.js';

const STRING_CLAIMS = [
  'job_project_path',
  'namespace_path',
  'project_id',
  'pipeline_id',
  'job_id',
  'ref',
  'ref_type',
  'environment',
  'deployment_tier',
  'pipeline_source',
  'user_login',
  'sha',
  'ref_path',
  'namespace_id',
  'user_id',
] as const;
const BOOLEAN_CLAIMS = ['ref_protected', 'environment_protected'] as const;

function asString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** GitLab sends these flags as strings; anything but "true"/"false" (or a real boolean) is dropped, never guessed. */
function asBoolean(v: unknown): boolean | undefined {
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  return undefined;
}

/** The caller has already checked iss, sub, aud, exp and project_path exist with the right types. */
export function toVerifiedClaims(p: JWTPayload & { iss: string; sub: string; exp: number; project_path: string }): VerifiedClaims {
  const claims: VerifiedClaims = {
    iss: p.iss,
    sub: p.sub,
    aud: Array.isArray(p.aud) ? [...p.aud] : (p.aud ?? ''),
    exp: p.exp,
    project_path: p.project_path,
  };
  if (typeof p.iat === 'number') claims.iat = p.iat;
  if (typeof p.nbf === 'number') claims.nbf = p.nbf;
  for (const name of STRING_CLAIMS) {
    const v = asString(p[name]);
    if (v !== undefined) claims[name] = v;
  }
  for (const name of BOOLEAN_CLAIMS) {
    const v = asBoolean(p[name]);
    if (v !== undefined) claims[name] = v;
  }
  return claims;
}
