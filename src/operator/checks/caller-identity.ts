// sts:GetCallerIdentity with the response's Date header captured, for the credentials and clock-skew checks.

import type { STSClient } from '@aws-sdk/client-sts';

export interface CallerIdentityResult {
  /** The caller's ARN, when the call succeeded. */
  arn?: string;
  error?: unknown;
  /** The Date header of the last HTTP response (error responses included), when there was one. */
  serverDate?: Date;
  /** Local clock halfway through the request. */
  localDate: Date;
}

export async function callerIdentity(sts: STSClient, now: () => Date): Promise<CallerIdentityResult> {
  const { GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const cmd = new GetCallerIdentityCommand({});
  let dateHeader: string | undefined;
  let sentAt = now().getTime();
  let receivedAt = sentAt;
  cmd.middlewareStack.add(
    (next) => async (args) => {
      sentAt = now().getTime();
      const out = await next(args);
      receivedAt = now().getTime();
      const headers = (out.response as { headers?: Record<string, string | undefined> } | undefined)?.headers;
      dateHeader = headers?.date ?? headers?.Date ?? dateHeader;
      return out;
    },
    // Innermost: sees every attempt's raw response, errors included, before it is deserialized.
    { step: 'deserialize', priority: 'low', name: 'jobroleDoctorDateHeader' },
  );
  const result: CallerIdentityResult = { localDate: new Date(0) };
  try {
    const out = await sts.send(cmd);
    if (out.Arn !== undefined) result.arn = out.Arn;
  } catch (err) {
    result.error = err;
  }
  result.localDate = new Date((sentAt + receivedAt) / 2);
  const parsed = dateHeader === undefined ? Number.NaN : Date.parse(dateHeader);
  if (!Number.isNaN(parsed)) result.serverDate = new Date(parsed);
  return result;
}
