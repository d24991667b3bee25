// Job environment for endpoint delivery: the per-job credentials URL and the token the SDKs send with it.

/**
 * AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN. The token goes in the variable, not
 * a *_TOKEN_FILE: Debian's awscli 2.9 / botocore 1.29 read only the variable, and accept only http://127.0.0.1,
 * localhost or 169.254.170.2 — so the URL must be the http://127.0.0.1:PORT form.
 */
export function endpointJobEnv(url: string, token: string): Record<string, string> {
  const u = new URL(url);
  if (u.protocol !== 'http:' || u.hostname !== '127.0.0.1') {
    throw new Error(`credentials endpoint URL must be http://127.0.0.1:PORT/... for every AWS SDK to accept it; got ${url}`);
  }
  if (token === '' || /[\r\n]/.test(token)) throw new Error('credentials endpoint token must be non-empty and on one line');
  return { AWS_CONTAINER_CREDENTIALS_FULL_URI: url, AWS_CONTAINER_AUTHORIZATION_TOKEN: token };
}
