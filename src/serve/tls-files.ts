// The broker's TLS certificate and key: read, checked to belong together, described for doctor and the log.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  subject: string;
  validTo: Date;
  /** DNS names and IPs the certificate is for. */
  names: string[];
}

/** Reads both PEM files and checks the key matches the certificate; throws an Error naming the key and the file. */
export async function loadTls(certPath: string, keyPath: string): Promise<TlsMaterial> {
  const read = async (path: string, key: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new Error(`[serve].${key} = ${JSON.stringify(path)} cannot be read (${code}); the broker needs it readable by its user`);
    }
  };
  const [cert, key] = await Promise.all([read(certPath, 'tls_cert'), read(keyPath, 'tls_key')]);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`[serve].tls_cert = ${JSON.stringify(certPath)} is not a PEM certificate (${(err as Error).message})`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new Error(`[serve].tls_key = ${JSON.stringify(keyPath)} is not an unencrypted PEM private key (${(err as Error).message})`);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new Error(`[serve].tls_key = ${JSON.stringify(keyPath)} does not belong to the certificate in [serve].tls_cert = ${JSON.stringify(certPath)}`);
  }
  const names = (x509.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim().replace(/^(DNS|IP Address):/, ''))
    .filter((s) => s !== '');
  return { cert, key, subject: x509.subject.replace(/\n/g, ', '), validTo: new Date(x509.validTo), names };
}
