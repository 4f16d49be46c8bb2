import { generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';

export type Claims = Record<string, unknown> & {
  iss?: string; aud?: string; exp?: number; nbf?: number; iat?: number; tid?: string; oid?: string;
  upn?: string; amr?: string[]; scp?: string; roles?: string[]; appid?: string; azp?: string;
};

function b64url(buf: Buffer | string): string {
  return Buffer.from(buf).toString('base64url');
}

/** RS256 signer for the simulated Entra ID: one key, published through JWKS. */
export class TokenSigner {
  readonly kid = randomUUID().replace(/-/g, '').slice(0, 20);
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = privateKey;
    this.publicKey = publicKey;
  }

  sign(claims: Claims): string {
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: this.kid }));
    const payload = b64url(JSON.stringify(claims));
    const sig = sign('sha256', Buffer.from(`${header}.${payload}`), this.privateKey);
    return `${header}.${payload}.${b64url(sig)}`;
  }

  jwks(): { keys: object[] } {
    const jwk = this.publicKey.export({ format: 'jwk' });
    return { keys: [{ ...jwk, kid: this.kid, use: 'sig', kty: 'RSA', alg: 'RS256' }] };
  }

  /**
   * Verifies signature and lifetime; returns the claims or a reason.
   * `now` is the simulator clock in ms.
   */
  verify(token: string, now: number): { ok: true; claims: Claims } | { ok: false; reason: string } {
    const parts = token.split('.');
    if (parts.length !== 3) return { ok: false, reason: 'malformed token' };
    const [h, p, s] = parts as [string, string, string];
    let claims: Claims;
    try {
      const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { kid?: string; alg?: string };
      if (header.alg !== 'RS256' || header.kid !== this.kid) return { ok: false, reason: 'unknown signing key' };
      claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Claims;
    } catch {
      return { ok: false, reason: 'malformed token' };
    }
    if (!verify('sha256', Buffer.from(`${h}.${p}`), this.publicKey, Buffer.from(s, 'base64url'))) {
      return { ok: false, reason: 'invalid signature' };
    }
    const nowSec = Math.floor(now / 1000);
    if (typeof claims.exp === 'number' && claims.exp < nowSec) return { ok: false, reason: 'token expired' };
    if (typeof claims.nbf === 'number' && claims.nbf > nowSec + 300) return { ok: false, reason: 'token not yet valid' };
    return { ok: true, claims };
  }
}
