/**
 * Which bytes to read this run, from the saved position and what is on the MTA now. Pure.
 *  - no saved position (first run, or the path changed): a bounded tail of the current file;
 *  - same inode, size >= offset: from the offset (the usual case);
 *  - same inode, size < offset: truncated in place (copytruncate): from 0;
 *  - new inode: rotated. Finish the old file, found by its inode among the rotated names
 *    (`maillog.1`, `maillog-YYYYMMDD`), from the saved offset, then the new file from 0.
 */

export interface SavedPosition {
  path: string;
  inode: string;
  offset: number;
}

export interface RemoteFile {
  inode: string;
  size: number;
  name: string;
}

export interface Segment {
  name: string;
  inode: string;
  from: number;
  /** The read starts mid-line (a tail): skip to the first newline. */
  skipFirstPartial: boolean;
  /** The file no longer grows (rotated away): read to its end, last unterminated line included. */
  finalFile: boolean;
}

export interface ReadPlan {
  segments: Segment[];
  firstRun: boolean;
  /** Things worth a log line: truncation, a rotated file not found. */
  notes: string[];
}

export function planRead(saved: SavedPosition | null, path: string, current: RemoteFile, rotated: readonly RemoteFile[], tailBytes: number): ReadPlan {
  const cur = (from: number, skip = false): Segment => ({ name: current.name, inode: current.inode, from, skipFirstPartial: skip, finalFile: false });
  if (saved === null || saved.path !== path) {
    // One byte early: when the tail starts right at a line, the skipped "partial" is just the newline before it.
    const from = Math.max(0, current.size - tailBytes - 1);
    return { segments: [cur(from, from > 0)], firstRun: true, notes: [] };
  }
  if (saved.inode === current.inode) {
    if (current.size >= saved.offset) return { segments: [cur(saved.offset)], firstRun: false, notes: [] };
    return {
      segments: [cur(0)],
      firstRun: false,
      notes: [`${path} shrank from ${saved.offset} to ${current.size} bytes (truncated in place): reading it from the start`],
    };
  }
  const old = rotated.find((f) => f.inode === saved.inode);
  if (!old) {
    return {
      segments: [cur(0)],
      firstRun: false,
      notes: [`${path} was rotated and the old file (inode ${saved.inode}) was not found next to it (compressed or removed?): lines written after offset ${saved.offset} of it are not counted`],
    };
  }
  const notes: string[] = [];
  let from = saved.offset;
  if (old.size < saved.offset) {
    notes.push(`rotated ${old.name} is smaller than the saved offset: reading it from the start`);
    from = 0;
  }
  return {
    segments: [{ name: old.name, inode: old.inode, from, skipFirstPartial: false, finalFile: true }, cur(0)],
    firstRun: false,
    notes,
  };
}
