/**
 * The four socket events a mail client connection listens to (imap-conn.ts, smtp-conn.ts), put on a
 * socket and taken off it together: on STARTTLS the plain socket's handlers come off and go on the
 * TLS socket that wraps it. The handlers must be the same functions both times (the connections'
 * arrow-function fields are).
 */
import type net from 'node:net';

export interface SocketHandlers {
  readonly onData: (chunk: Buffer) => void;
  readonly onError: (e: NodeJS.ErrnoException) => void;
  readonly onClose: () => void;
  readonly onTimeout: () => void;
}

export function attachHandlers(sock: net.Socket, h: SocketHandlers): void {
  sock.on('data', h.onData);
  sock.on('error', h.onError);
  sock.on('close', h.onClose);
  sock.on('timeout', h.onTimeout);
}

/** Takes the handlers off and clears the socket's idle timeout. */
export function detachHandlers(sock: net.Socket, h: SocketHandlers): void {
  sock.off('data', h.onData);
  sock.off('error', h.onError);
  sock.off('close', h.onClose);
  sock.off('timeout', h.onTimeout);
  sock.setTimeout(0);
}
