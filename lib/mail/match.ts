/**
 * Bulk matching: one pass over the new messages of several folders (UID ranges from the last seen
 * position, headers only, bounded batches), every token found locally (never one IMAP search per
 * token). Positions come back for the caller to store once it has processed the hits.
 */
import { decodeWords, header, parseHeaders, type HeaderMap } from './headers.js';
import type { ImapReader, ScanFilter, ScannedMessage } from './imap.js';
import { findTokens } from './token.js';

export interface FolderPosition {
  uidValidity: string;
  lastUid: number;
}

export interface ScannedMail extends ScannedMessage {
  parsed: HeaderMap;
  /** Tokens found in Subject (decoded), X-Mtarep-Probe, In-Reply-To and References. */
  tokens: string[];
}

/** The server-side prefilter of messages that may carry a token (where tokensInHeaders looks): substring "mtp-". */
export const tokenFilter: Required<Pick<ScanFilter, 'subject' | 'header'>> = {
  subject: ['mtp-'],
  header: [
    ['X-Mtarep-Probe', ''],
    ['In-Reply-To', 'mtp-'],
    ['References', 'mtp-'],
  ],
};

/** Tokens a message's headers carry. */
export function tokensInHeaders(h: HeaderMap): string[] {
  const parts = [
    decodeWords(header(h, 'subject') ?? ''),
    ...(h.get('x-mtarep-probe') ?? []),
    ...(h.get('in-reply-to') ?? []),
    ...(h.get('references') ?? []),
  ];
  return findTokens(parts.join('\n'));
}

/**
 * Read every folder from its stored position; `onMessage` sees every new message (token or not).
 * Returns the new positions (store them after the hits are safely recorded).
 */
export async function scanFolders(
  reader: ImapReader,
  folders: readonly string[],
  positions: Readonly<Record<string, FolderPosition>>,
  onMessage: (m: ScannedMail) => void | Promise<void>,
  opts: { batch?: number; filter?: ScanFilter } = {},
): Promise<{ positions: Record<string, FolderPosition>; scanned: number }> {
  const out: Record<string, FolderPosition> = {};
  let scanned = 0;
  for (const folder of folders) {
    const pos = positions[folder];
    const st = await reader.scan(
      folder,
      { sinceUid: pos?.lastUid ?? 0, uidValidity: pos?.uidValidity, ...(opts.batch ? { batch: opts.batch } : {}), ...(opts.filter ? { filter: opts.filter } : {}) },
      async (m) => {
        const parsed = parseHeaders(m.headers);
        await onMessage({ ...m, parsed, tokens: tokensInHeaders(parsed) });
      },
    );
    scanned += st.scanned;
    out[folder] = { uidValidity: st.uidValidity, lastUid: st.lastUid };
  }
  return { positions: out, scanned };
}
