/** The overview's line about alert notifications that are not getting through (built by web/viewmodel/events.ts). */

export interface AlertNotice {
  /** "2 alert notifications not delivered (retrying); 1 failed in the last 24 h". */
  text: string;
  level: 'error' | 'warning';
}

export function AlertNoticeLine(p: { notice: AlertNotice | null | undefined }) {
  const n = p.notice;
  if (!n) return '';
  return (
    <p class={`alert-notice ${n.level === 'error' ? 'problems bad' : 'problems'}`} role="status">
      {n.text}: see <a href="/events#undelivered">Events</a>.
    </p>
  );
}
