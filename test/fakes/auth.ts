// Authenticates a signed request: known key, valid signature, matching session token, not expired.
import { AwsError, authErrors, type ServiceName } from './errors.js';
import { parseAuthorization, verifySigV4, type SignedRequest } from './sigv4.js';
import { isExpired, type CredentialRecord, type EmulatorState } from './state.js';

export function authenticate(
  state: EmulatorState,
  service: ServiceName,
  req: SignedRequest,
  headers: Record<string, string | string[] | undefined>,
): CredentialRecord {
  const header = headers['authorization'];
  const auth = parseAuthorization(Array.isArray(header) ? header[0] : header);
  if (auth === undefined) throw authErrors.missing(service);
  if (auth === 'malformed')
    throw new AwsError('IncompleteSignature', 'Authorization header requires Credential, SignedHeaders and Signature.', service === 'ec2' ? 401 : 403);
  const cred = state.credentials.get(auth.accessKeyId);
  if (cred === undefined) throw authErrors.unknownKey(service);
  const tokenHeader = headers['x-amz-security-token'];
  const token = Array.isArray(tokenHeader) ? tokenHeader[0] : tokenHeader;
  if ((cred.sessionToken ?? undefined) !== (token || undefined)) throw authErrors.unknownKey(service);
  if (!verifySigV4(req, auth, cred.secretAccessKey)) throw authErrors.badSignature(service);
  if (isExpired(state, cred)) throw authErrors.expired(service);
  return cred;
}
