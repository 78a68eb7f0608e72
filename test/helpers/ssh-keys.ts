/**
 * Ed25519 key pairs for the test SSH servers and clients, made with node:crypto and written in
 * OpenSSH's formats here. Not ssh2's `utils.generateKeyPairSync('ed25519')`: it strips leading zero
 * bytes from the public key, so about 1 key in 256 cannot be parsed again (ssh2 issues #1390, #1513).
 * Here the key is always 32 bytes, and every pair is parsed back by ssh2 before use.
 */
import crypto from 'node:crypto';
import ssh2 from 'ssh2';

export interface KeyPair {
  /** OpenSSH private key text (`-----BEGIN OPENSSH PRIVATE KEY-----`, unencrypted). */
  private: string;
  /** `ssh-ed25519 AAAA...` line. */
  public: string;
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function sshString(b: Buffer | string): Buffer {
  const data = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** The key pair of a 32-byte seed (RFC 8032), in OpenSSH's formats. */
export function ed25519FromSeed(seed: Buffer, comment = 'mtarep-test'): KeyPair {
  if (seed.length !== 32) throw new Error('an ed25519 seed is 32 bytes');
  const priv = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const pub = Buffer.from(crypto.createPublicKey(priv).export({ format: 'jwk' }).x!, 'base64url');
  if (pub.length !== 32) throw new Error('node:crypto gave an ed25519 public key that is not 32 bytes');
  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  // The check integers only detect a wrong passphrase; derived from the seed, so the text is stable.
  const check = seed.readUInt32BE(0);
  let inner = Buffer.concat([u32(check), u32(check), sshString('ssh-ed25519'), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad = (8 - (inner.length % 8)) % 8;
  inner = Buffer.concat([inner, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0'), sshString('none'), sshString('none'), sshString(''), u32(1), sshString(pubBlob), sshString(inner)]);
  const b64 = body.toString('base64').replace(/.{70}/g, '$&\n');
  return {
    private: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`,
    public: `ssh-ed25519 ${pubBlob.toString('base64')} ${comment}`,
  };
}

/** A fresh key pair, checked to parse in ssh2 (an error here is a bug in this file, never chance). */
export function generateKey(): KeyPair {
  const pair = ed25519FromSeed(crypto.randomBytes(32));
  for (const text of [pair.private, pair.public]) {
    const parsed = ssh2.utils.parseKey(text);
    if (parsed instanceof Error) throw new Error(`test key does not parse in ssh2: ${parsed.message}`);
  }
  return pair;
}
