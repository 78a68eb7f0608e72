declare module 'apache-md5' {
  /** Apache's $apr1$ MD5-crypt; `salt` may be a whole existing hash. */
  export default function md5(password: string, salt?: string): string;
}
