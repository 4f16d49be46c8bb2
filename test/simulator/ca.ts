import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface TlsMaterial {
  /** PEM of the simulator's own root CA: what NODE_EXTRA_CA_CERTS points at. */
  caCertPath: string;
  caCert: string;
  cert: string;
  key: string;
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

async function importKeyPem(pem: string): Promise<webcrypto.CryptoKey> {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return (await webcrypto.subtle.importKey('pkcs8', Buffer.from(b64, 'base64'), ALG, true, ['sign'])) ;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(12))).toString('hex').replace(/^[89a-f]/, '1');
}

/**
 * The simulator's test CA and a server certificate for localhost / 127.0.0.1 / ::1.
 * Generated on first start into `dir` and reused afterwards, so a process started with
 * NODE_EXTRA_CA_CERTS=<dir>/ca.pem trusts every later simulator run.
 */
export async function ensureTlsMaterial(dir: string): Promise<TlsMaterial> {
  await mkdir(dir, { recursive: true });
  const caCertPath = join(dir, 'ca.pem');
  const caKeyPath = join(dir, 'ca-key.pem');
  const now = Date.now();
  let caCertPem = await readIfExists(caCertPath);
  let caKeyPem = await readIfExists(caKeyPath);
  let caCert = caCertPem ? new x509.X509Certificate(caCertPem) : undefined;
  if (!caCert || !caKeyPem || caCert.notAfter.getTime() < now + 86_400_000) {
    const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
    caCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: 'CN=Partner Onboarding Bot Simulator Test CA, O=Simulator',
      notBefore: new Date(now - 3_600_000),
      notAfter: new Date(now + 10 * 365 * 86_400_000),
      signingAlgorithm: ALG,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    caCertPem = caCert.toString('pem') + '\n';
    caKeyPem = await exportKeyPem(keys.privateKey);
    await writeFile(caKeyPath, caKeyPem, { mode: 0o600 });
    await chmod(caKeyPath, 0o600);
    await writeFile(caCertPath, caCertPem);
  }
  const leafCertPath = join(dir, 'server.pem');
  const leafKeyPath = join(dir, 'server-key.pem');
  const existingLeaf = await readIfExists(leafCertPath);
  const existingKey = await readIfExists(leafKeyPath);
  if (existingLeaf && existingKey) {
    const leaf = new x509.X509Certificate(existingLeaf);
    if (leaf.issuer === caCert.subject && leaf.notAfter.getTime() > now + 86_400_000 && (await leaf.verify({ publicKey: caCert.publicKey }))) {
      return { caCertPath, caCert: caCertPem!, cert: existingLeaf, key: existingKey };
    }
  }
  const caKey = await importKeyPem(caKeyPem!);
  const leafKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=localhost',
    issuer: caCert.subject,
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 365 * 86_400_000),
    signingAlgorithm: ALG,
    publicKey: leafKeys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  const certPem = leaf.toString('pem') + '\n';
  const keyPem = await exportKeyPem(leafKeys.privateKey);
  await writeFile(leafKeyPath, keyPem, { mode: 0o600 });
  await writeFile(leafCertPath, certPem);
  return { caCertPath, caCert: caCertPem!, cert: certPem, key: keyPem };
}
