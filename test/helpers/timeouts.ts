/**
 * Timeouts in tests. A peer that answers gets a timeout it never comes near (ANSWERS_MS), so a busy
 * machine cannot turn a slow answer into a failure; only a peer that never answers (a dropped DNS
 * query, a hanging HTTP server, a silent MTA) gets a short one (SILENT_MS), because the test waits
 * for it to expire. Never use SILENT_MS for a peer whose answer the test expects.
 */
export const ANSWERS_MS = 5_000;
export const SILENT_MS = 300;
