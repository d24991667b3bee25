// What an operator sees of an error's causes: ": caused by …" with the AWS request id, and with JOBROLE_DEBUG=1 every stack.

import { causeChain, describeAwsError, errorMessage, requestIdOf } from '../aws/errors.js';

const MAX_CAUSE = 300;
const MAX_CAUSES_TEXT = 1000;

/** Causes may carry request or response bodies: anything shaped like a JWT, an access key id or a secret goes. */
export function scrubSecrets(text: string): string {
  return text
    .replace(/[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+/g, '[JWT]')
    .replace(/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, '[access key id]')
    .replace(/[A-Za-z0-9+/=]{40,}/g, (m) => (/[a-z]/.test(m) && /[A-Z]/.test(m) && /[0-9]/.test(m) ? '[secret]' : m));
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/**
 * ": caused by <code: message (AWS request id …)>" for each cause of `err` whose text the line does not already
 * contain, then the AWS request id of the chain if the line has none yet. `line` is what is printed before it.
 */
export function causeSuffix(err: unknown, line: string): string {
  let suffix = '';
  for (const cause of causeChain(err, 6).slice(1)) {
    const said = line + suffix;
    const message = errorMessage(cause);
    if (message !== '' && said.includes(message)) continue;
    const text = shorten(scrubSecrets(describeAwsError(cause).split('\n')[0] ?? ''), MAX_CAUSE);
    if (text === '' || said.includes(text)) continue;
    if (suffix.length + text.length > MAX_CAUSES_TEXT) {
      suffix += ': caused by ...';
      break;
    }
    suffix += `: caused by ${text}`;
  }
  const said = line + suffix;
  const id = causeChain(err, 6)
    .map(requestIdOf)
    .find((x) => x !== undefined);
  if (id !== undefined && !said.includes(id)) suffix += ` (AWS request id ${id})`;
  return suffix;
}

/** Every error of the chain with its stack (JOBROLE_DEBUG=1). */
export function debugChain(err: unknown): string {
  return causeChain(err, 20)
    .map((e, i) => {
      const stack = e instanceof Error && e.stack ? e.stack : String(e);
      const id = requestIdOf(e);
      return `${i === 0 ? '' : 'caused by: '}${scrubSecrets(stack)}${id !== undefined ? `\n  AWS request id ${id}` : ''}`;
    })
    .join('\n');
}
