// Doctor: host credentials (sts:GetCallerIdentity) and this host's clock against STS's.

import { describeAwsError, errorCode, isMissingHostCredentials, isTransient } from '../../aws/errors.js';
import type { CallerIdentityResult } from './caller-identity.js';
import { fail, pass, skip, warn, type CheckResult } from './result.js';

const SKEW_FAIL_SECONDS = 60;
const SKEW_WARN_SECONDS = 5;

function advice(err: unknown): string {
  const code = errorCode(err);
  if (isMissingHostCredentials(err)) {
    return "this host has no AWS credentials: attach an instance profile to the instance (or give the runner's user credentials), and check the IMDS hop limit";
  }
  if (code === 'ExpiredToken' || code === 'ExpiredTokenException' || code === 'InvalidClientTokenId')
    return "the host's credentials are expired or unknown to AWS: check where they come from (AWS_* environment, ~/.aws, instance profile)";
  if (code === 'SignatureDoesNotMatch' || code === 'RequestExpired')
    return "requests are rejected as badly signed or expired: check this host's clock (chrony/NTP) and the secret key";
  if (code === 'AccessDenied' || code === 'AccessDeniedException')
    return 'the call is denied: an SCP or permissions boundary blocks sts:GetCallerIdentity, or the STS endpoint is a VPC endpoint whose policy denies it';
  if (isTransient(err)) return 'STS is unreachable or throttling: check the network, [aws].sts_endpoint and [aws].region';
  return "check [aws].region, [aws].sts_endpoint and the host's network";
}

export function checkHostCredentials(r: CallerIdentityResult, region: string): CheckResult {
  if (r.arn !== undefined) return pass(`host credentials work: sts:GetCallerIdentity says ${r.arn}`);
  return fail(`host credentials: sts:GetCallerIdentity failed in ${region} (${describeAwsError(r.error)}): ${advice(r.error)}`);
}

/** Compares STS's Date header with the local clock (the header has one-second resolution). */
export function checkClockSkew(r: CallerIdentityResult): CheckResult {
  if (r.serverDate === undefined) return skip('clock skew: no answer from STS to compare with');
  const skewMs = r.serverDate.getTime() + 500 - r.localDate.getTime();
  const seconds = Math.abs(skewMs) / 1000;
  const how = `this host is ${seconds.toFixed(1)} s ${skewMs > 0 ? 'behind' : 'ahead of'} STS`;
  if (seconds > SKEW_FAIL_SECONDS) return fail(`clock skew: ${how}: fix time sync (chrony/NTP); ID-token checks and credential expiry depend on it`);
  if (seconds > SKEW_WARN_SECONDS) return warn(`clock skew: ${how}: check time sync (chrony/NTP)`);
  return pass(`clock skew: ${how} (limit ${SKEW_WARN_SECONDS} s)`);
}
