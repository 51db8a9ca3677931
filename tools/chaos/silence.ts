/**
 * The silence suite: a member whose network goes quiet (the fault proxy drops
 * everything to and from it) for less than the liveness limit misses
 * nothing; one quiet for longer is removed and the room is told, and when
 * its network returns it finds out and gets back in. Sealed sessions, every
 * seal audited.
 */
import { type FaultProxy, startFaultProxy } from "../fault_proxy.ts";
import { readPeakRssMiB } from "../proc_stat.ts";
import type { SuiteOutcome } from "./loss.ts";
import { type ChaosMember, waitFor } from "./member.ts";
import type { NonceAudit } from "./nonce_audit.ts";
import { ChaosRig } from "./rig.ts";

/** Timings of one run. */
export interface SilenceSuiteOptions {
  /** The server's heartbeat period; a member silent for 3 is removed. */
  heartbeatSeconds: number;
  /** Messages the host sends while the short silence lasts. */
  messagesDuringShortSilence: number;
  /** The run's nonce audit, told every seal too. */
  audit?: NonceAudit;
}

/** Runs the silence suite once. */
export async function runSilenceSuite(options: SilenceSuiteOptions): Promise<SuiteOutcome> {
  const started = performance.now();
  const heartbeatMs = options.heartbeatSeconds * 1000;
  const livenessMs = 3 * heartbeatMs;
  const rig = new ChaosRig(options.audit);
  const members: ChaosMember[] = [];
  let proxy: FaultProxy | undefined;
  const failures: string[] = [];
  try {
    const server = await rig.server(["--heartbeat", String(options.heartbeatSeconds)]);
    proxy = startFaultProxy({ target: { hostname: "127.0.0.1", port: server.udpPort } });
    for (const name of ["host", "brief", "long"]) {
      members.push(
        await rig.member({
          tcpPort: server.port,
          room: "quiet",
          name,
          create: name === "host",
          proxy,
        }),
      );
    }
    const [host, brief, long] = members as [ChaosMember, ChaosMember, ChaosMember];

    // Short: quiet for half the liveness limit while the host talks.
    const shortMs = livenessMs / 2;
    proxy.silence(brief.local, shortMs);
    const sent: string[] = [];
    for (let i = 1; i <= options.messagesDuringShortSilence; i++) {
      sent.push(`during the short silence #${i}`);
      host.session.send(sent.at(-1)!);
      await new Promise((resolve) =>
        setTimeout(resolve, shortMs / options.messagesDuringShortSilence)
      );
    }
    const caughtUp = await waitFor(() => brief.check(sent).missing === 0, livenessMs * 2);
    const shortCheck = brief.check(sent);
    if (!caughtUp) failures.push(`brief: ${shortCheck.missing}/${sent.length} never shown`);
    if (shortCheck.duplicates + shortCheck.outOfOrder > 0) {
      failures.push(
        `brief: ${shortCheck.duplicates} duplicates, ${shortCheck.outOfOrder} out of order`,
      );
    }
    if (brief.of("missed").length > 0 || brief.of("rejoining").length > 0) {
      failures.push("brief: lost its place (missed events or had to rejoin)");
    }
    if (host.of("timedOut").some((e) => e.name === "brief")) {
      failures.push("brief was removed after a silence shorter than the limit");
    }

    // Long: quiet for twice the limit; the room must be told, then it returns.
    const silencedAt = performance.now();
    const silentUntil = silencedAt + livenessMs * 2;
    proxy.silence(long.local, livenessMs * 2);
    // Its whole network is away: the new socket of a rejoin is silent too, until the end.
    long.onChannel = (local) => {
      const left = silentUntil - performance.now();
      if (left > 0) proxy!.silence(local, left);
    };
    const told = await waitFor(
      () => host.of("timedOut").some((e) => e.name === "long"),
      livenessMs * 2,
    );
    const removedAfterMs = performance.now() - silencedAt;
    if (!told) failures.push("the room was not told that long timed out");
    const back = await waitFor(
      () =>
        long.of("welcome").some((w) => w.rejoined) &&
        host.of("joined").some((e) => e.name === "long"),
      livenessMs * 2 + heartbeatMs * 3 + 5_000,
    );
    const backAfterMs = performance.now() - silencedAt;
    if (!back) failures.push("long did not get back into the room after its network returned");
    else if (backAfterMs < livenessMs * 2) {
      failures.push(`long was back in after ${backAfterMs.toFixed(0)} ms, while still silent`);
    }

    const peakServerMiB = await readPeakRssMiB(server.child.pid);
    await Promise.all(members.map((m) => m.close()));
    await server.dispose();
    failures.push(...rig.auditFailures());
    return {
      figures: {
        suite: "sealed: a member's network goes silent (heartbeat " +
          `${options.heartbeatSeconds} s, removed after ${livenessMs / 1000} s)`,
        sends: `silent ${shortMs / 1000} s while ${sent.length} messages are sent; ` +
          `another silent ${(livenessMs * 2) / 1000} s`,
        delivered: `${shortCheck.received}/${sent.length} shown after the short silence`,
        duplicates: String(shortCheck.duplicates),
        seconds: (performance.now() - started) / 1000,
        peakServerMiB,
        passed: failures.length === 0,
        notes: `the long-silent member was removed (room told) after ${
          (removedAfterMs / 1000).toFixed(1)
        } s and back in after ${(backAfterMs / 1000).toFixed(1)} s; ${rig.describeAudit()}`,
      },
      failures,
    };
  } finally {
    await Promise.all(members.map((m) => m.close()));
    await proxy?.close();
    await rig.dispose();
  }
}
