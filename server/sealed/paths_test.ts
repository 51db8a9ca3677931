import assert from "node:assert/strict";
import {
  AMPLIFICATION_FACTOR,
  CHALLENGE_INTERVAL_MS,
  MAX_PROBED_PATHS,
  SessionPaths,
} from "./paths.ts";

const at = (hostname: string, port: number) => ({ hostname, port });
const random = (size: number) => crypto.getRandomValues(new Uint8Array(size));

Deno.test("paths: first datagram binds; the same IP moves on the highest counter only", () => {
  const paths = new SessionPaths(random);
  const home = at("10.0.0.1", 1000);
  assert.equal(paths.step(null, home, true, 40, 0).kind, "bind");
  assert.equal(paths.step(home, home, false, 40, 0).kind, "current");
  assert.equal(paths.step(home, at("10.0.0.1", 2000), true, 40, 0).kind, "move");
  assert.deepEqual(paths.step(home, at("10.0.0.1", 2000), false, 40, 0), {
    kind: "other",
    path: null,
  });
});

Deno.test("paths: a new IP is probed (a challenge at most once a second) until it echoes the challenge from there", () => {
  const paths = new SessionPaths(random);
  const home = at("10.0.0.1", 1000);
  const away = at("10.0.0.2", 1000);
  const first = paths.step(home, away, true, 40, 0);
  assert.ok(first.kind === "probe" && first.challenge);
  first.path.challengedAt = 0;
  const second = paths.step(home, away, true, 40, CHALLENGE_INTERVAL_MS - 1);
  assert.ok(second.kind === "probe" && !second.challenge && second.path === first.path);
  assert.equal(first.path.bytesIn, 80);
  assert.equal(paths.respond(at("10.0.0.3", 1000), first.path.challenge), false);
  assert.equal(paths.respond(away, new Uint8Array(16)), false);
  assert.equal(paths.respond(away, first.path.challenge), true);
  assert.equal(paths.respond(away, first.path.challenge), false); // once
  assert.equal(paths.step(home, away, true, 40, 0).kind, "move");
  paths.moved(home, away);
  // The old address stays validated: moving back needs no challenge.
  assert.equal(paths.step(away, home, true, 40, 0).kind, "move");
});

Deno.test("paths: at most 4 addresses are tracked per session", () => {
  const paths = new SessionPaths(random);
  for (let i = 0; i < 10; i++) paths.step(at("10.0.0.1", 1), at(`10.0.1.${i}`, 1), true, 40, 0);
  assert.equal(paths.size, MAX_PROBED_PATHS);
  assert.equal(AMPLIFICATION_FACTOR, 3);
});
