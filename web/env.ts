/** The Hono environment of the dashboard: per-request variables set by middleware. */
export interface WebEnv {
  Variables: {
    /** The authenticated user of this request (set by basicAuth). */
    user: string;
  };
}
