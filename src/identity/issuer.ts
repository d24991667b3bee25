// Issuer URLs compared the way GitLab writes them: without trailing slashes.

export function normaliseIssuer(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

/** The URL of the OIDC discovery document for an issuer (which may live under a path). */
export function discoveryUrl(issuer: string): string {
  return `${normaliseIssuer(issuer)}/.well-known/openid-configuration`;
}
