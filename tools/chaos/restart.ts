/**
 * The restart suite: the server process is killed (SIGKILL: no CLOSED, no
 * memory) and started again on the same ports with the same static key.
 * Every sealed member must notice (the new server answers its datagrams with
 * a stateless reset), get back in (the former host creates the room again,
 * the others join it), say so, and deliver what was typed while the server
 * was away; and no (key, nonce) pair may repeat across the two servers.
 */
import { readPeakRssMiB } from "../proc_stat.ts";
import type { AuditedServer } from "./audited_server.ts";
import type { SuiteOutcome } from "./loss.ts";
import { type ChaosMember, waitFor } from "./member.ts";
import type { NonceAudit } from "./nonce_audit.ts";
import { ChaosRig } from "./rig.ts";

/** Sizes and timings of one run. */
export interface RestartSuiteOptions {
  members: number;
  /** How long the server stays down. */
  downMs: number;
  heartbeatSeconds: number;
  /** The run's nonce audit, told every seal too. */
  audit?: NonceAudit;
}

/** Runs the restart suite once. */
export async function runRestartSuite(options: RestartSuiteOptions): Promise<SuiteOutcome> {
  const started = performance.now();
  const rig = new ChaosRig(options.audit);
  const members: ChaosMember[] = [];
  const failures: string[] = [];
  const heartbeat = ["--heartbeat", String(options.heartbeatSeconds)];
  try {
    const first = await rig.server(heartbeat);
    for (let i = 0; i < options.members; i++) {
      members.push(
        await rig.member({
          tcpPort: first.port,
          room: "phoenix",
          name: i === 0 ? "host" : `guest${i}`,
          create: i === 0,
        }),
      );
    }
    const before = members.map((m) => `${m.name} before`);
    members.forEach((m, i) => m.session.send(before[i]!));
    if (!await waitFor(() => members.every((m) => m.check(before).missing === 0), 5_000)) {
      failures.push("the room did not work before the restart");
    }

    await first.kill();
    const during = members.map((m) => `${m.name} while the server was down`);
    members.forEach((m, i) => m.session.send(during[i]!));
    await new Promise((resolve) => setTimeout(resolve, options.downMs));
    const restartedAt = performance.now();
    const second: AuditedServer = await rig.server([
      ...heartbeat,
      "--port",
      String(first.port),
      "--udp-port",
      String(first.udpPort),
    ]);

    const allBack = await waitFor(
      () => members.every((m) => m.of("welcome").some((w) => w.rejoined)),
      30_000,
    );
    const backAfterMs = performance.now() - restartedAt;
    if (!allBack) {
      const missing = members.filter((m) => !m.of("welcome").some((w) => w.rejoined));
      failures.push(`not back in: ${missing.map((m) => m.name).join(", ")}`);
    }
    const after = members.map((m) => `${m.name} after`);
    members.forEach((m, i) => m.session.send(after[i]!));
    const expected = [...during, ...after];
    await waitFor(
      () => members.every((m) => m.session.unacknowledged === 0 && m.check(expected).missing === 0),
      10_000,
    );

    let shown = 0;
    let duplicates = 0;
    for (const member of members) {
      const check = member.check(expected);
      shown += check.received;
      duplicates += check.duplicates;
      const problems = [...check.problems];
      const notices = member.of("rejoining").length;
      if (notices !== 1) problems.push(`${notices} rejoin notices`);
      if (member.of("closed").length > 0) problems.push("its session ended");
      if (problems.length > 0) failures.push(`${member.name}: ${problems.join(", ")}`);
    }
    if (members.some((m) => m.session.host !== "host")) {
      failures.push("the former host is not the host of the room made again");
    }
    const peakServerMiB = await readPeakRssMiB(second.child.pid);
    // Same key: the new server resets the old sessions at their first datagram, well before
    // the clients' own silence limit (3 heartbeat periods) would make them rejoin.
    const resets = members.filter((m) =>
      m.of("rejoining").some((r) =>
        r.reason.includes("no longer knows this session (it restarted?)")
      )
    ).length;
    if (resets !== members.length) {
      failures.push(`${resets}/${members.length} rejoined on the server's stateless reset`);
    }
    await Promise.all(members.map((m) =>
      m.close()
    ));
    await second.dispose();
    failures.push(...rig.auditFailures());
    return {
      figures: {
        suite: "sealed: server killed (SIGKILL) and restarted on the same ports and key, " +
          "with no memory",
        sends: `${options.members} members; each sends 1 message while it is down ` +
          `(${options.downMs / 1000} s) and 1 after`,
        delivered: `${shown}/${expected.length * options.members} shown`,
        duplicates: String(duplicates),
        seconds: (performance.now() - started) / 1000,
        peakServerMiB,
        passed: failures.length === 0,
        notes: `all back in ${(backAfterMs / 1000).toFixed(1)} s after the restart ` +
          `(heartbeat ${options.heartbeatSeconds} s); the former host made the room again; ` +
          "every member was told (a rejoin notice, then a welcome back); " +
          `${resets}/${options.members} rejoined on the server's stateless reset; ` +
          rig.describeAudit(),
      },
      failures,
    };
  } finally {
    await Promise.all(members.map((m) => m.close()));
    await rig.dispose();
  }
}
