/**
 * Keeping a membership alive: HEARTBEAT twice a heartbeat period, and on a
 * sealed link, noticing the server's silence. A sealed server answers every
 * HEARTBEAT (HEARTBEAT_ACK), so hearing nothing authenticated for
 * {@linkcode SILENT_PERIODS} periods means it is gone: nothing a stranger
 * can forge keeps the session there, or sends it away. A plain server
 * answers nothing, so a plain link only beats.
 */
import type { DatagramLink } from "./datagram_crypto.ts";
import { repeat, type Scheduler } from "./scheduler.ts";

/** A sealed session that hears no authenticated datagram for this many heartbeat periods rejoins. */
export const SILENT_PERIODS = 3;

/** What {@linkcode keepAlive} needs. */
export interface KeepaliveOptions {
  scheduler: Scheduler;
  /** The server's heartbeat period, from its answer. */
  heartbeatSeconds: number;
  /** The connection's link: whether it is sealed, and when it last heard the server. */
  link: Pick<DatagramLink, "sealed" | "heardAt">;
  /** Sends one HEARTBEAT. */
  beat: () => void;
  /** The server has been silent too long (called instead of a beat; the beats go on until stopped). */
  silent: (reason: string) => void;
  /**
   * Count the silence from the first HEARTBEAT left unanswered rather than
   * from the last datagram heard (a reliable connection, docs/protocol.md
   * 7.5): a hidden tab's timers may run once a minute, and in a quiet room
   * nothing comes between two of its beats, so the old rule would take a
   * live socket for dead at every one of them.
   */
  fromUnansweredBeat?: boolean;
}

/**
 * Beats every half period until the returned function is called; at each
 * beat of a sealed link, first checks the silence (so it is noticed
 * between 3 and 3.5 periods after the last authenticated datagram).
 */
export function keepAlive(options: KeepaliveOptions): () => void {
  const { scheduler, link } = options;
  const periodMs = options.heartbeatSeconds * 1000;
  // Twice a period: the server drops a member after 3 silent periods, and
  // 3 heartbeats lost in a row happen 0.8% of the time at 20% loss (the
  // chaos suite saw it); 6 in a row, 0.006%.
  /** When the first beat since the last datagram heard went; null when none is unanswered. */
  let unansweredSince: number | null = null;
  return repeat(scheduler, periodMs / 2, () => {
    const now = scheduler.now();
    if (unansweredSince !== null && link.heardAt >= unansweredSince) unansweredSince = null;
    const silentSince = options.fromUnansweredBeat ? unansweredSince : link.heardAt;
    if (link.sealed && silentSince !== null && now - silentSince >= SILENT_PERIODS * periodMs) {
      options.silent(
        `no authenticated datagram from the server for ${SILENT_PERIODS} heartbeat periods`,
      );
      return;
    }
    options.beat();
    unansweredSince ??= now;
  });
}
