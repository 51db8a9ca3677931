/**
 * Restarts, black box (issue 13, "Tests: Restart"): real `chat join`
 * processes in a room of a real `chat serve`, which is stopped and started
 * again on the same ports. With the same key file every member gets back in,
 * whether the server said CLOSED (SIGTERM) or vanished (SIGKILL: the
 * stateless reset, or 3 silent heartbeat periods); with a new key every
 * member stops before its request; a stranger who takes a locked room's name
 * first is refused; and a host that changed across the rejoin is shown.
 */
import assert from "node:assert/strict";
import {
  type ChildHandle,
  type Children,
  type ServerProcess,
  waitForListening,
  withChildren,
  withoutFirstContact,
} from "../testing/cli.ts";
import { startTcpRecorder, type TcpRecorder } from "../testing/tcp_recorder.ts";
import { sleep } from "../testing/wait.ts";

const LOOPBACK = "127.0.0.1";
const RUN_MS = 15_000;
const KEY_LINE = /server key (created|loaded): \S+ \((SHA256:[A-Za-z0-9+/]{43})\)/;

/** `chat serve` on loopback with `ports` (0: any) and its key in `keyFile`. */
async function serve(
  kids: Children,
  keyFile: string,
  ports: { port: number; udpPort: number },
  extra: string[] = [],
): Promise<ServerProcess> {
  // The ports of a server just stopped are normally free at once; a port
  // taken meanwhile by someone else is asked for again for a while.
  const deadline = performance.now() + 5_000;
  while (true) {
    const process = kids.chat([
      "serve",
      "--host",
      LOOPBACK,
      "--port",
      String(ports.port),
      "--udp-port",
      String(ports.udpPort),
      "--http-port",
      "0",
      "--key-file",
      keyFile,
      ...extra,
    ]);
    try {
      return await waitForListening(process, RUN_MS);
    } catch (error) {
      if (!/in use/.test(process.stderr.plain) || performance.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

/** The fingerprint a server logged for its key, and whether it created or loaded it. */
async function keyOf(server: ServerProcess): Promise<{ how: string; fingerprint: string }> {
  const [, how, fingerprint] = await server.process.stderr.waitFor(KEY_LINE, RUN_MS);
  return { how: how!, fingerprint: fingerprint! };
}

/** `chat join` in pipe mode (`--json` unless `text`), rejoining for up to 15 s. */
function join(
  kids: Children,
  address: string,
  name: string,
  how: "--create" | "--join",
  room: string,
  options: { text?: boolean; extra?: string[] } = {},
): ChildHandle {
  return kids.chat([
    "join",
    "--server",
    address,
    "--name",
    name,
    how,
    "--room",
    room,
    "--rejoin-timeout",
    "15",
    ...(options.text ? [] : ["--json"]),
    ...(options.extra ?? []),
  ]);
}

/** Parsed `--json` lines of a `chat join`. */
function events(child: ChildHandle): Record<string, unknown>[] {
  return child.stdout.lines.map((line) => JSON.parse(line));
}

/** A JSON member's events of one type. */
const ofType = (child: ChildHandle, type: string) => events(child).filter((e) => e.type === type);

/** Waits until `child` shows `text` as a message (JSON or text mode). */
function waitForMessage(child: ChildHandle, text: string): Promise<unknown> {
  return child.stdout.waitFor(
    child.label.includes("--json") ? `"text":${JSON.stringify(text)}` : `: ${text}`,
    RUN_MS,
  );
}

/** Ann (host), bob (JSON) and carol (text mode) in `room` at `address`. */
async function threeMembers(
  kids: Children,
  address: string,
  room: string,
): Promise<ChildHandle[]> {
  const ann = join(kids, address, "ann", "--create", room);
  await ann.stdout.waitFor(/"type":"welcome"/, RUN_MS);
  const bob = join(kids, address, "bob", "--join", room);
  const carol = join(kids, address, "carol", "--join", room, { text: true });
  await bob.stdout.waitFor(/"type":"welcome"/, RUN_MS);
  await carol.stdout.waitFor(`* You are in "${room}"`, RUN_MS);
  await ann.write("before the restart\n");
  for (const member of [ann, bob, carol]) await waitForMessage(member, "before the restart");
  return [ann, bob, carol];
}

/** Whether a member said it is rejoining (JSON or text mode), with `reason`. */
function rejoiningReasons(child: ChildHandle): string[] {
  if (child.label.includes("--json")) return ofType(child, "rejoining").map((e) => `${e.reason}`);
  return [...child.stdout.plain.matchAll(/^\* (.*)\. Rejoining for up to \d+ s;/gm)].map((m) =>
    m[1]!
  );
}

const restarts = [
  {
    what: "SIGTERM (the shutdown CLOSED)",
    signal: "SIGTERM",
    heartbeat: "1",
    afterSilence: false,
    reason: /^the server shut down: the server is shutting down$/,
  },
  {
    // A heartbeat of 2 s leaves 6 s before the silence rule: the restart
    // comes well before, so the reset is what brings them back.
    what: "SIGKILL, started again at once (the stateless reset)",
    signal: "SIGKILL",
    heartbeat: "2",
    afterSilence: false,
    reason: /^the server no longer knows this session \(it restarted\?\)$/,
  },
  {
    what: "SIGKILL, started again after 3 silent heartbeat periods",
    signal: "SIGKILL",
    heartbeat: "1",
    afterSilence: true,
    reason: /^no authenticated datagram from the server for 3 heartbeat periods$/,
  },
] as const;

for (const restart of restarts) {
  Deno.test(`restart with the same key file, ${restart.what}: every member is back in, messages flow`, async () => {
    await withChildren(async (kids) => {
      const keyFile = `${kids.home!.root}/server_key`;
      const heartbeat = ["--heartbeat", restart.heartbeat];
      const first = await serve(kids, keyFile, { port: 0, udpPort: 0 }, heartbeat);
      const before = await keyOf(first);
      assert.equal(before.how, "created");
      const members = await threeMembers(kids, first.address, "phoenix");
      const [ann, bob, carol] = members as [ChildHandle, ChildHandle, ChildHandle];

      first.process.kill(restart.signal);
      await first.process.exited(RUN_MS);
      if (restart.afterSilence) {
        for (const member of members) {
          await member.stdout.waitFor(/no authenticated datagram from the server/, RUN_MS);
        }
      }
      await bob.write("typed while the server was away\n");
      const second = await serve(kids, keyFile, first, heartbeat);
      assert.deepEqual(await keyOf(second), { how: "loaded", fingerprint: before.fingerprint });

      for (const member of [ann, bob]) {
        await member.stdout.waitFor(/"type":"welcome".*"rejoined":true/, RUN_MS);
      }
      await carol.stdout.waitFor(`* Back in "phoenix" (host ann;`, RUN_MS);
      for (const member of members) {
        const reasons = rejoiningReasons(member);
        assert.equal(reasons.length, 1, member.describe());
        assert.match(reasons[0]!, restart.reason, member.describe());
      }
      // The former host made the room again; the others joined it.
      assert.match(second.process.stderr.plain, /room created: "phoenix" by ann/);
      const back = ofType(ann, "welcome").at(-1)!;
      assert.equal(back.host, "ann");

      await ann.write("after from ann\n");
      await carol.write("after from carol\n");
      for (const member of members) {
        for (
          const text of ["typed while the server was away", "after from ann", "after from carol"]
        ) {
          await waitForMessage(member, text);
        }
      }
      // The guests leave, then the host (whose leaving would close the room).
      for (const member of [bob, carol, ann]) {
        await member.closeStdin();
        assert.equal(await member.exited(RUN_MS), 0, member.describe());
        assert.equal(withoutFirstContact(member.stderr.plain), "", member.describe());
      }
      for (const member of [ann, bob]) {
        assert.deepEqual(ofType(member, "undelivered"), []);
        assert.deepEqual(ofType(member, "closed").map((e) => e.reason), ["left"]);
      }
    });
  });
}

/** Everything a member wrote, stdout and stderr, but the first-contact line (an old key's). */
const output = (child: ChildHandle) =>
  `${child.stdout.plain}\n${withoutFirstContact(child.stderr.plain)}`;

Deno.test("restart with the key file deleted: every member stops (exit 1) before its request, shows both fingerprints and `chat trust`; held lines are undelivered", async () => {
  await withChildren(async (kids) => {
    const keyFile = `${kids.home!.root}/server_key`;
    const first = await serve(kids, keyFile, { port: 0, udpPort: 0 });
    const old = await keyOf(first);
    const members = await threeMembers(kids, first.address, "phoenix");
    const [ann, bob, carol] = members as [ChildHandle, ChildHandle, ChildHandle];

    first.process.kill("SIGTERM");
    await first.process.exited(RUN_MS);
    await Deno.remove(keyFile);
    for (const member of members) await member.stdout.waitFor(/[Rr]ejoining/, RUN_MS);
    await bob.write("bob typed while the server was away\n");
    await carol.write("carol typed while the server was away\n");
    const second = await serve(kids, keyFile, first);
    const renewed = await keyOf(second);
    assert.equal(renewed.how, "created");
    assert.notEqual(renewed.fingerprint, old.fingerprint);

    for (const member of members) assert.equal(await member.exited(RUN_MS), 1, member.describe());
    for (const member of [ann, bob]) {
      assert.deepEqual(ofType(member, "closed").map((e) => e.reason), ["lost"]);
    }
    assert.deepEqual(
      ofType(bob, "undelivered").map((e) => e.text),
      ["bob typed while the server was away"],
    );
    assert.match(carol.stdout.plain, /^! not delivered: carol typed while the server was away$/m);
    // No request reached the new server (the key check comes first), and nothing was pinned.
    assert.doesNotMatch(second.process.stderr.plain, /room created:|joined:/);
    const pins = JSON.parse(await Deno.readTextFile(kids.home!.pinsFile));
    assert.equal(pins.servers[first.address].fingerprint, old.fingerprint);
    // Each says what happened in the words a person can act on: both
    // fingerprints, and the command that accepts the new key.
    for (const member of members) {
      const said = output(member);
      assert.ok(said.includes(old.fingerprint), `the old fingerprint:\n${member.describe()}`);
      assert.ok(said.includes(renewed.fingerprint), `the new fingerprint:\n${member.describe()}`);
      assert.ok(
        said.includes(`chat trust ${first.address} ${renewed.fingerprint}`),
        `the command that accepts the new key:\n${member.describe()}`,
      );
    }
  });
});

/**
 * A room at a server whose members connect through a relay that can keep
 * them out (`gate.accepting = false`), so a stranger can be let in first
 * after a restart. Returns the first server, the gate and its address.
 */
async function gatedServer(
  kids: Children,
  keyFile: string,
): Promise<{ first: ServerProcess; gate: TcpRecorder; address: string }> {
  const first = await serve(kids, keyFile, { port: 0, udpPort: 0 });
  const gate = startTcpRecorder({ target: { hostname: LOOPBACK, port: first.port } });
  return { first, gate, address: `${LOOPBACK}:${gate.addr.port}` };
}

/**
 * Stops `first` (SIGTERM), waits until every member is rejoining (they are
 * kept out by the gate meanwhile), starts it again, and lets `stranger`
 * create `room` first, straight at the server. The gate opens once the
 * stranger is in.
 */
async function strangerFirst(
  kids: Children,
  scene: { first: ServerProcess; gate: TcpRecorder; keyFile: string },
  members: ChildHandle[],
  room: string,
  beforeRestart: () => Promise<void> = () => Promise.resolve(),
): Promise<{ second: ServerProcess; stranger: ChildHandle }> {
  scene.gate.accepting = false;
  scene.first.process.kill("SIGTERM");
  await scene.first.process.exited(RUN_MS);
  for (const member of members) await member.stdout.waitFor(/[Rr]ejoining/, RUN_MS);
  await beforeRestart();
  const second = await serve(kids, scene.keyFile, scene.first);
  const stranger = join(kids, second.address, "zed", "--create", room);
  await stranger.stdout.waitFor(/"type":"welcome"/, RUN_MS);
  scene.gate.accepting = true;
  return { second, stranger };
}

Deno.test("a stranger who creates a locked room's name first after a restart is refused by its members", async () => {
  await withChildren(async (kids) => {
    const keyFile = `${kids.home!.root}/server_key`;
    const { first, gate, address } = await gatedServer(kids, keyFile);
    try {
      const password = ["--password-stdin"];
      const ann = join(kids, address, "ann", "--create", "staffroom", { extra: password });
      await ann.write("s3cret-pass\n");
      await ann.stdout.waitFor(/"type":"welcome"/, RUN_MS);
      const bob = join(kids, address, "bob", "--join", "staffroom", { extra: password });
      await bob.write("s3cret-pass\n");
      await bob.stdout.waitFor(/"type":"welcome"/, RUN_MS);

      const { second, stranger } = await strangerFirst(
        kids,
        { first, gate, keyFile },
        [ann, bob],
        "staffroom",
        () => bob.write("bob typed while the server was away\n"),
      );
      for (const member of [ann, bob]) {
        assert.equal(await member.exited(RUN_MS), 1, member.describe());
        const closed = ofType(member, "closed");
        assert.equal(closed.length, 1, member.describe());
        assert.equal(closed[0]!.reason, "lost");
        assert.match(`${closed[0]!.text}`, /"staffroom" no longer asks for a password/);
      }
      assert.deepEqual(
        ofType(bob, "undelivered").map((e) => e.text),
        ["bob typed while the server was away"],
      );
      // They got in (the answer says whether the room is locked, so it comes
      // after the admission) and give the membership back at once with one
      // LEAVE, rather than hold their names there until the server revokes
      // them (30 s), and without a word in the stranger's room.
      for (const name of ["ann", "bob"]) {
        await stranger.stdout.waitFor(new RegExp(`"type":"joined".*"name":"${name}"`), RUN_MS);
      }
      await stranger.write("anyone here?\n");
      await waitForMessage(stranger, "anyone here?");
      assert.deepEqual(
        ofType(stranger, "message").map((e) => `${e.name}: ${e.text}`),
        ["zed: anyone here?"],
      );
      assert.doesNotMatch(second.process.stderr.plain, /room created: "staffroom" by (ann|bob)/);
      for (const name of ["ann", "bob"]) {
        await stranger.stdout.waitFor(new RegExp(`"type":"left".*"name":"${name}"`), 5_000);
      }
      await stranger.closeStdin();
      assert.equal(await stranger.exited(RUN_MS), 0, stranger.describe());
    } finally {
      await gate.close();
    }
  });
});

Deno.test("a host that changed across a rejoin is shown: the welcome's previousHost (--json), a line in text mode", async () => {
  await withChildren(async (kids) => {
    const keyFile = `${kids.home!.root}/server_key`;
    const { first, gate, address } = await gatedServer(kids, keyFile);
    try {
      const members = await threeMembers(kids, address, "lobby");
      const [ann, bob, carol] = members as [ChildHandle, ChildHandle, ChildHandle];
      const { stranger } = await strangerFirst(kids, { first, gate, keyFile }, members, "lobby");

      for (const member of [ann, bob]) {
        await member.stdout.waitFor(/"type":"welcome".*"rejoined":true/, RUN_MS);
        const welcome = ofType(member, "welcome").at(-1)!;
        assert.equal(welcome.host, "zed", member.describe());
        assert.equal(welcome.previousHost, "ann", member.describe());
      }
      // What the text front end shows of it: the new host in the welcome back.
      await carol.stdout.waitFor(/^\* Back in "lobby" \(host zed; here: .*\)$/m, RUN_MS);
      await carol.stdout.waitFor(
        "* The host changed while you were away: it was ann, it is now zed.",
        RUN_MS,
      );
      assert.equal(ofType(ann, "welcome")[0]!.previousHost, undefined, "not on a first welcome");

      await ann.write("ann is back\n");
      for (const member of [...members, stranger]) await waitForMessage(member, "ann is back");
      for (const member of [...members, stranger]) {
        await member.closeStdin();
        assert.equal(await member.exited(RUN_MS), 0, member.describe());
      }
    } finally {
      await gate.close();
    }
  });
});
