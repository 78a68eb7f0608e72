/**
 * Per-user CSRF tokens for forms: HMAC(process secret, user). Basic auth alone makes CSRF easy (the
 * browser resends credentials), so a POST needs this token as well as hono's origin check.
 */
import crypto from 'node:crypto';

export class CsrfTokens {
  constructor(private readonly secret: Buffer = crypto.randomBytes(32)) {}

  tokenFor(user: string): string {
    return crypto.createHmac('sha256', this.secret).update(`csrf\0${user}`).digest('base64url');
  }

  check(user: string, token: unknown): boolean {
    if (typeof token !== 'string') return false;
    const want = Buffer.from(this.tokenFor(user));
    const got = Buffer.from(token);
    return got.length === want.length && crypto.timingSafeEqual(got, want);
  }
}
