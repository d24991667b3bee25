// The one HTTP endpoint for STS, EC2 and SSM: protocol detection, call log, faults, SigV4, dispatch, error format.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate } from './auth.js';
import { EC2_ACTIONS, handleEc2 } from './ec2.js';
import { AwsError, authErrors, errorAnswer, type ServiceName, type WireAnswer } from './errors.js';
import type { FaultTable } from './faults.js';
import { header, readBody } from './http-util.js';
import { requestId as newRequestId } from './ids.js';
import { parseForm, type Params } from './query.js';
import { parseAuthorization } from './sigv4.js';
import { handleSsm } from './ssm.js';
import type { CallRecord, CredentialRecord, EmulatorState } from './state.js';
import { STS_ACTIONS, STS_UNSIGNED_ACTIONS, handleSts, type WebIdentityVerifier } from './sts.js';

export interface AwsEndpointDeps {
  state: EmulatorState;
  faults: FaultTable;
  verifyWebIdentity: WebIdentityVerifier;
}

const SECRET_PARAMS = new Set(['WebIdentityToken', 'Value', 'SAMLAssertion']);

function redactParams(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) if (!SECRET_PARAMS.has(k)) out[k] = v;
  return out;
}

interface Parsed {
  service: ServiceName;
  action: string;
  params: Params;
  json: Record<string, unknown>;
}

function parseRequest(req: IncomingMessage, body: Buffer): Parsed {
  const target = header(req, 'x-amz-target');
  if (target !== undefined) {
    const action = target.slice(target.indexOf('.') + 1);
    let json: unknown;
    try {
      json = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      throw Object.assign(new AwsError('SerializationException', 'Could not parse the request body as JSON', 400), { service: 'ssm' });
    }
    return { service: 'ssm', action, params: {}, json: (json ?? {}) as Record<string, unknown> };
  }
  const q = (req.url ?? '/').indexOf('?');
  const params = { ...parseForm(q < 0 ? '' : (req.url ?? '').slice(q + 1)), ...parseForm(body.toString('utf8')) };
  const action = params['Action'] ?? '';
  const version = params['Version'];
  const auth = parseAuthorization(header(req, 'authorization'));
  const scopeService = typeof auth === 'object' ? auth.service : undefined;
  const service: ServiceName = version === '2016-11-15' || (version === undefined && (scopeService === 'ec2' || EC2_ACTIONS.has(action))) ? 'ec2' : 'sts';
  return { service, action, params, json: {} };
}

async function dispatch(
  deps: AwsEndpointDeps,
  req: IncomingMessage,
  body: Buffer,
  call: CallRecord,
  requestId: string,
): Promise<{ service: ServiceName; answer: WireAnswer }> {
  const p = parseRequest(req, body);
  call.service = p.service;
  call.action = p.action;
  call.params = redactParams(p.service === 'ssm' ? p.json : p.params);
  try {
    const delay = deps.faults.delayFor(p.action);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    const fault = deps.faults.take(p.action);
    if (fault === 'throttle') throw authErrors.throttled(p.service);
    if (fault === 'fail500') throw authErrors.internal(p.service);
    const signed = { method: req.method ?? 'GET', url: req.url ?? '/', rawHeaders: req.rawHeaders, body };
    let caller: CredentialRecord | undefined;
    if (!(p.service === 'sts' && STS_UNSIGNED_ACTIONS.has(p.action))) caller = authenticate(deps.state, p.service, signed, req.headers);
    if (fault === 'deny') throw authErrors.denied(p.service, caller?.arn ?? 'anonymous', p.action);
    const ctx = { state: deps.state, caller, requestId };
    let text: string;
    let contentType = 'text/xml';
    if (p.service === 'ssm') {
      text = handleSsm(p.action, { ...ctx, body: p.json });
      contentType = 'application/x-amz-json-1.1';
    } else if (p.service === 'ec2') {
      text = handleEc2(p.action, { ...ctx, params: p.params });
      contentType = 'text/xml;charset=UTF-8';
    } else {
      if (!STS_ACTIONS.has(p.action)) throw new AwsError('InvalidAction', `Could not find operation ${p.action} for version 2011-06-15`, 400);
      text = await handleSts(p.action, { ...ctx, params: p.params, verifyWebIdentity: deps.verifyWebIdentity });
    }
    return { service: p.service, answer: { status: 200, contentType, body: text } };
  } catch (err) {
    if (err instanceof AwsError) return { service: p.service, answer: errorAnswer(p.service, err, requestId) };
    throw err;
  }
}

export function createAwsHandler(deps: AwsEndpointDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const requestId = newRequestId();
    const auth = parseAuthorization(header(req, 'authorization'));
    const call: CallRecord = { service: 'sts', action: '', params: {}, requestId, at: deps.state.now() };
    if (typeof auth === 'object') call.accessKeyId = auth.accessKeyId;
    deps.state.calls.push(call);
    // Fire and forget: the handler returns at once and the chain ends in the answer; .catch turned every failure into one.
    void readBody(req)
      .then((body) => dispatch(deps, req, body, call, requestId))
      .catch((err: unknown) => {
        const service = err instanceof AwsError && 'service' in err ? (err.service as ServiceName) : call.service === 'imds' ? 'sts' : call.service;
        const e = err instanceof AwsError ? err : authErrors.internal(service);
        return { service, answer: errorAnswer(service, e, requestId) };
      })
      .then(({ answer }) => {
        call.status = answer.status;
        if (answer.status >= 400)
          call.error =
            /<Code>([^<]+)<\/Code>|"__type":"([^"]+)"/
              .exec(answer.body)
              ?.slice(1)
              .find((x) => x !== undefined) ?? 'Unknown';
        res.writeHead(answer.status, { 'content-type': answer.contentType, 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(answer.body) });
        res.end(answer.body);
      });
  };
}
