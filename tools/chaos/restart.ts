/**
 * The restart suite: the server process is killed (SIGKILL: no CLOSED, no
 * memory) and started again on the same ports. Every member must notice,
 * get back in (the former host creates the room again, the others join it),
 * say so, and deliver what was typed while the server was away.
 */
import { Children, type ServerProcess } from "../../testing/cli.ts";
import { readPeakRssMiB } from "../proc_stat.ts";
import type { SuiteOutcome } from "./loss.ts";
import { ChaosMember, waitFor } from "./member.ts";

/** Sizes and timings of one run. */
export interface RestartSuiteOptions {
  members: number;
  /** How long the server stays down. */
  downMs: number;
  heartbeatSeconds: number;
}

/** Runs the restart suite once. */
export async function runRestartSuite(options: RestartSuiteOptions): Promise<SuiteOutcome> {
  const started = performance.now();
  const kids = new Children();
  const members: ChaosMember[] = [];
  const failures: string[] = [];
  const heartbeat = ["--heartbeat", String(options.heartbeatSeconds)];
  try {
    const first = await kids.server(heartbeat);
    for (let i = 0; i < options.members; i++) {
      members.push(
        await ChaosMember.open({
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

    first.process.kill("SIGKILL");
    await first.process.status;
    const during = members.map((m) => `${m.name} while the server was down`);
    members.forEach((m, i) => m.session.send(during[i]!));
    await new Promise((resolve) => setTimeout(resolve, options.downMs));
    const restartedAt = performance.now();
    const second: ServerProcess = await kids.server([
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
    const peakServerMiB = await readPeakRssMiB(second.process.child.pid);
    return {
      figures: {
        suite: "server killed (SIGKILL) and restarted on the same ports with no memory",
        sends: `${options.members} members; each sends 1 message while it is down ` +
          `(${options.downMs / 1000} s) and 1 after`,
        delivered: `${shown}/${expected.length * options.members} shown`,
        duplicates: String(duplicates),
        seconds: (performance.now() - started) / 1000,
        peakServerMiB,
        passed: failures.length === 0,
        notes: `all back in ${(backAfterMs / 1000).toFixed(1)} s after the restart ` +
          `(heartbeat ${options.heartbeatSeconds} s); the former host made the room again; ` +
          "every member was told (a rejoin notice, then a welcome back)",
      },
      failures,
    };
  } finally {
    await Promise.all(members.map((m) => m.close()));
    await kids.dispose();
  }
}
