// An AWS service error and how each wire protocol (STS XML, EC2 XML, SSM JSON) spells it.
import { document, esc, leaf, tag } from './xml.js';

export type ServiceName = 'sts' | 'ec2' | 'ssm';

export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface WireAnswer {
  status: number;
  contentType: string;
  body: string;
}

export function errorAnswer(service: ServiceName, err: AwsError, requestId: string): WireAnswer {
  if (service === 'ssm') {
    return {
      status: err.status,
      contentType: 'application/x-amz-json-1.1',
      body: JSON.stringify({ __type: err.code, message: err.message }),
    };
  }
  if (service === 'ec2') {
    const inner = tag('Errors', tag('Error', leaf('Code', err.code) + leaf('Message', err.message))) + leaf('RequestID', requestId);
    return { status: err.status, contentType: 'text/xml;charset=UTF-8', body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response>${inner}</Response>` };
  }
  const type = err.status >= 500 ? 'Receiver' : 'Sender';
  const inner = tag('Error', leaf('Type', type) + leaf('Code', err.code) + tag('Message', esc(err.message))) + leaf('RequestId', requestId);
  return { status: err.status, contentType: 'text/xml', body: document('ErrorResponse', 'https://sts.amazonaws.com/doc/2011-06-15/', inner) };
}

/** Per-service codes for the same kind of failure. */
export const authErrors = {
  missing: (s: ServiceName) =>
    s === 'ssm'
      ? new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token', 400)
      : s === 'ec2'
        ? new AwsError('AuthFailure', 'AWS was not able to validate the provided access credentials', 401)
        : new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403),
  unknownKey: (s: ServiceName) =>
    s === 'ssm'
      ? new AwsError('UnrecognizedClientException', 'The security token included in the request is invalid.', 400)
      : s === 'ec2'
        ? new AwsError('AuthFailure', 'AWS was not able to validate the provided access credentials', 401)
        : new AwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403),
  badSignature: (s: ServiceName) =>
    s === 'ssm'
      ? new AwsError(
          'InvalidSignatureException',
          'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
          400,
        )
      : s === 'ec2'
        ? new AwsError('AuthFailure', 'AWS was not able to validate the provided access credentials', 401)
        : new AwsError(
            'SignatureDoesNotMatch',
            'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
            403,
          ),
  expired: (s: ServiceName) =>
    s === 'ssm'
      ? new AwsError('ExpiredTokenException', 'The security token included in the request is expired', 400)
      : s === 'ec2'
        ? new AwsError('RequestExpired', 'Request has expired.', 400)
        : new AwsError('ExpiredToken', 'The security token included in the request is expired', 403),
  throttled: (s: ServiceName) =>
    s === 'ssm'
      ? new AwsError('ThrottlingException', 'Rate exceeded', 400)
      : s === 'ec2'
        ? new AwsError('RequestLimitExceeded', 'Request limit exceeded.', 503)
        : new AwsError('Throttling', 'Rate exceeded', 400),
  internal: (s: ServiceName) =>
    s === 'ssm'
      ? new AwsError('InternalServerError', 'An internal error occurred.', 500)
      : s === 'ec2'
        ? new AwsError('InternalError', 'An internal error has occurred', 500)
        : new AwsError('InternalFailure', 'An internal error occurred.', 500),
  denied: (s: ServiceName, who: string, action: string) =>
    s === 'ssm'
      ? new AwsError('AccessDeniedException', `User: ${who} is not authorized to perform: ssm:${action}`, 400)
      : s === 'ec2'
        ? new AwsError('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403)
        : new AwsError('AccessDenied', `User: ${who} is not authorized to perform: sts:${action}`, 403),
};
