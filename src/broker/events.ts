// The typed messages between the per-job endpoint process and prepare/run: one union per channel, validated on read.

/** What the endpoint reports about itself (never a secret). */
export type BrokerEventType = 'serve' | 'deny' | 'refresh' | 'refresh-failed' | 'deadline';
export interface BrokerEvent {
  type: BrokerEventType;
  detail: string;
}

/** The one line the endpoint answers prepare with on stdout: ready on a port, or why it could not start. */
export type BrokerAnswer = { port: number } | { error: string };

/** One line of the secret feed (feed.ts): a secret issued so far, or the end of the backlog. */
export type FeedMessage = { secret: string } | { synced: true };

/** A JSON line for either channel. */
export function encodeLine(message: BrokerAnswer | FeedMessage): string {
  return `${JSON.stringify(message)}\n`;
}

function parseObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** The endpoint's answer line, or an Error saying what is wrong with it (never echoing the line). */
export function parseBrokerAnswer(text: string): BrokerAnswer {
  const o = parseObject(text, 'the answer');
  if (typeof o.port === 'number' && Number.isInteger(o.port) && o.port > 0 && o.port < 65536) return { port: o.port };
  if (typeof o.error === 'string') return { error: o.error };
  throw new Error('the answer has neither a port (1-65535) nor an error');
}

/** A feed line, or an Error (a malformed line is never a secret to learn). */
export function parseFeedMessage(text: string): FeedMessage {
  const o = parseObject(text, 'a feed line');
  if (typeof o.secret === 'string' && o.secret !== '') return { secret: o.secret };
  if (o.synced === true) return { synced: true };
  throw new Error('a feed line has neither a secret nor synced: true');
}
