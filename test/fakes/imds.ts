// IMDSv2 on its own port: session tokens, instance id, identity document, and the instance profile's role credentials.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { header, readBody } from './http-util.js';
import { issueRoleSession } from './session.js';
import { imdsProfileNow, type CallRecord, type CredentialRecord, type EmulatorState } from './state.js';
import { isoSeconds } from './xml.js';

/** The role session IMDS hands out for a role, renewed once less than a fifth of its life is left. */
export function instanceCredentials(state: EmulatorState, roleArn: string): CredentialRecord {
  const cached = state.imdsCredentials.get(roleArn);
  const now = state.now();
  if (cached?.expiresAt !== undefined && cached.expiresAt - now > (cached.expiresAt - cached.issuedAt) / 5) return cached;
  const role = state.roles.get(roleArn);
  if (role === undefined) throw new Error(`IMDS: no such role ${roleArn}`);
  const fresh = issueRoleSession(state, {
    kind: 'instance-profile',
    role,
    sessionName: state.instance.instanceId,
    durationSeconds: state.hostCredentialSeconds,
    issuedTo: 'ec2.amazonaws.com',
  });
  state.imdsCredentials.set(roleArn, fresh);
  return fresh;
}

/** The role name IMDS serves right now, after the propagation delay of the last profile change. */
export function imdsRoleNow(state: EmulatorState): { roleArn: string; name: string } | undefined {
  const profileArn = imdsProfileNow(state);
  if (profileArn === null) return undefined;
  const roleArn = state.instance.profiles.get(profileArn)?.roleArn;
  const role = roleArn !== undefined ? state.roles.get(roleArn) : undefined;
  return role !== undefined ? { roleArn: role.arn, name: role.name } : undefined;
}

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain', extra: Record<string, string> = {}): number {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
  return status;
}

export function createImdsHandler(state: EmulatorState): (req: IncomingMessage, res: ServerResponse) => void {
  const tokens = new Map<string, number>();

  const serve = (req: IncomingMessage, res: ServerResponse): number => {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (req.method === 'PUT' && path === '/latest/api/token') {
      if (header(req, 'x-forwarded-for') !== undefined) return send(res, 403, 'Forbidden');
      const ttl = Number(header(req, 'x-aws-ec2-metadata-token-ttl-seconds'));
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return send(res, 400, 'Bad Request');
      const token = randomBytes(42).toString('base64url');
      tokens.set(token, state.now() + ttl * 1000);
      return send(res, 200, token, 'text/plain', { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
    }
    if (req.method !== 'GET') return send(res, 405, 'Method Not Allowed');
    const token = header(req, 'x-aws-ec2-metadata-token');
    const expiry = token !== undefined ? tokens.get(token) : undefined;
    if (expiry === undefined || expiry <= state.now()) return send(res, 401, 'Unauthorized');

    const inst = state.instance;
    const current = imdsRoleNow(state);
    const credsPrefix = '/latest/meta-data/iam/security-credentials/';
    switch (path) {
      case '/latest/meta-data/instance-id':
        return send(res, 200, inst.instanceId);
      case '/latest/meta-data/placement/region':
        return send(res, 200, inst.region);
      case '/latest/meta-data/placement/availability-zone':
        return send(res, 200, inst.availabilityZone);
      case '/latest/dynamic/instance-identity/document':
        return send(
          res,
          200,
          JSON.stringify(
            {
              accountId: state.account,
              architecture: 'x86_64',
              availabilityZone: inst.availabilityZone,
              imageId: 'ami-0abcdef1234567890',
              instanceId: inst.instanceId,
              instanceType: 't3.medium',
              pendingTime: isoSeconds(state.now()),
              privateIp: '10.0.0.10',
              region: inst.region,
              version: '2017-09-30',
            },
            null,
            2,
          ),
          'application/json',
        );
      case '/latest/meta-data/iam/info': {
        const profileArn = imdsProfileNow(state);
        if (profileArn === null) return send(res, 404, 'Not Found');
        return send(
          res,
          200,
          JSON.stringify({
            Code: 'Success',
            LastUpdated: isoSeconds(state.now()),
            InstanceProfileArn: profileArn,
            InstanceProfileId: inst.profiles.get(profileArn)?.id,
          }),
          'application/json',
        );
      }
      case credsPrefix:
        return current === undefined ? send(res, 404, 'Not Found') : send(res, 200, current.name);
    }
    if (path.startsWith(credsPrefix) && current !== undefined && path.slice(credsPrefix.length).replace(/\/$/, '') === current.name) {
      const c = instanceCredentials(state, current.roleArn);
      const body = {
        Code: 'Success',
        LastUpdated: isoSeconds(c.issuedAt),
        Type: 'AWS-HMAC',
        AccessKeyId: c.accessKeyId,
        SecretAccessKey: c.secretAccessKey,
        Token: c.sessionToken,
        Expiration: isoSeconds(c.expiresAt ?? 0),
      };
      return send(res, 200, JSON.stringify(body, null, 2), 'text/plain');
    }
    return send(res, 404, 'Not Found');
  };

  return (req, res) => {
    const call: CallRecord = { service: 'imds', action: `${req.method ?? 'GET'} ${(req.url ?? '/').split('?')[0]}`, params: {}, at: state.now() };
    state.calls.push(call);
    readBody(req, 64 * 1024)
      .then(() => {
        call.status = serve(req, res);
      })
      .catch(() => {
        call.status = send(res, 500, 'Internal Server Error');
      });
  };
}
