// One doctor check outcome: a status and a line of text an operator can act on.

export type CheckStatus = 'PASS' | 'WARN' | 'FAIL' | 'SKIP';

export interface CheckResult {
  status: CheckStatus;
  text: string;
}

export const pass = (text: string): CheckResult => ({ status: 'PASS', text });
export const warn = (text: string): CheckResult => ({ status: 'WARN', text });
export const fail = (text: string): CheckResult => ({ status: 'FAIL', text });
export const skip = (text: string): CheckResult => ({ status: 'SKIP', text });

export function formatCheck(r: CheckResult): string {
  return `${r.status} ${r.text}`;
}
