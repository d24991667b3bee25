// SSM on JSON 1.1: GetParameter / GetParameters / PutParameter, String and SecureString.
import { createHash } from 'node:crypto';
import { AwsError } from './errors.js';
import { jsonText } from './json-text.js';
import type { CredentialRecord, EmulatorState, Parameter } from './state.js';

export interface SsmContext {
  state: EmulatorState;
  body: Record<string, unknown>;
  caller: CredentialRecord | undefined;
  requestId: string;
}

function nameOf(raw: unknown): string {
  if (typeof raw !== 'string' || raw === '')
    throw new AwsError('ValidationException', "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null", 400);
  const m = /^arn:aws:ssm:[^:]*:\d{12}:parameter(\/.*)$/.exec(raw);
  if (!m) return raw;
  const path = m[1] as string;
  return path.startsWith('//') ? path.slice(1) : path.slice(1).includes('/') ? path : path.slice(1);
}

function arnOf(state: EmulatorState, name: string): string {
  return `arn:aws:ssm:${state.instance.region}:${state.account}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
}

/** Without decryption a SecureString comes back as an opaque base64 blob, as with KMS. */
function shown(p: Parameter, decrypt: boolean): string {
  if (p.type !== 'SecureString' || decrypt) return p.value;
  return Buffer.concat([Buffer.from('AQICAHg', 'utf8'), createHash('sha256').update(p.value).digest()]).toString('base64');
}

function parameterJson(state: EmulatorState, p: Parameter, decrypt: boolean): Record<string, unknown> {
  return {
    Name: p.name,
    Type: p.type,
    Value: shown(p, decrypt),
    Version: p.version,
    LastModifiedDate: p.modifiedAt / 1000,
    ARN: arnOf(state, p.name),
    DataType: 'text',
  };
}

export function putParameter(state: EmulatorState, name: string, value: string, type: Parameter['type'] = 'String', overwrite = true): Parameter {
  const existing = state.parameters.get(name);
  if (existing !== undefined && !overwrite)
    throw new AwsError(
      'ParameterAlreadyExists',
      'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
      400,
    );
  const p: Parameter = { name, value, type, version: (existing?.version ?? 0) + 1, modifiedAt: state.now() };
  state.parameters.set(name, p);
  return p;
}

export function handleSsm(action: string, ctx: SsmContext): string {
  const { state, body } = ctx;
  const decrypt = body['WithDecryption'] === true;
  switch (action) {
    case 'GetParameter': {
      const name = nameOf(body['Name']);
      const p = state.parameters.get(name);
      if (p === undefined) throw new AwsError('ParameterNotFound', `Parameter ${name} not found.`, 400);
      return JSON.stringify({ Parameter: parameterJson(state, p, decrypt) });
    }
    case 'GetParameters': {
      const names = Array.isArray(body['Names']) ? (body['Names'] as unknown[]).map(nameOf) : [];
      const found = names.map((n) => state.parameters.get(n)).filter((p): p is Parameter => p !== undefined);
      return JSON.stringify({
        Parameters: found.map((p) => parameterJson(state, p, decrypt)),
        InvalidParameters: names.filter((n) => !state.parameters.has(n)),
      });
    }
    case 'PutParameter': {
      const type = body['Type'] === 'SecureString' || body['Type'] === 'StringList' ? body['Type'] : 'String';
      const p = putParameter(state, nameOf(body['Name']), jsonText(body['Value']), type, body['Overwrite'] === true);
      return JSON.stringify({ Version: p.version, Tier: 'Standard' });
    }
    default:
      throw new AwsError('UnknownOperationException', `Unknown operation ${action}`, 400);
  }
}
