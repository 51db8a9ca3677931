/**
 * The TCRP accept loop against a listener that fails the way a real one
 * does under pressure, without sockets.
 */
import assert from "node:assert/strict";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { ConnectionGate } from "./connection_gate.ts";
import { Handshake } from "./handshake.ts";
import { HashQueue } from "./hash_queue.ts";
import { KeyedBudget } from "./keyed_budget.ts";
import { PasswordFailures } from "./password_failures.ts";
import { createLogger } from "./log.ts";
import { KeyedRateLimiter } from "./rate_limit.ts";
import { DEFAULT_REGISTRY_LIMITS, RoomRegistry } from "./registry.ts";
import { TcrpFrontEnd } from "./tcp_front.ts";

const withCode = (code: string) => Object.assign(new Error("os error"), { code });

/** A listener whose accept() throws each of `errors` in turn, then waits until closed. */
function failingListener(errors: unknown[]) {
  let accepts = 0;
  let closed: () => void = () => {};
  const whenClosed = new Promise<never>((_, reject) => {
    closed = () => reject(new Deno.errors.BadResource("Listener has been closed"));
  });
  whenClosed.catch(() => {});
  const listener = {
    accept(): Promise<Deno.TcpConn> {
      const error = errors[accepts++];
      return error === undefined ? whenClosed : Promise.reject(error);
    },
    close: () => closed(),
  } as unknown as Deno.TcpListener;
  return { listener, accepts: () => accepts };
}

function frontEnd(listener: Deno.TcpListener, lines: string[]): TcrpFrontEnd {
  const clocks = { monotonic: () => performance.now(), wall: () => Date.now() };
  const registry = new RoomRegistry({ ...DEFAULT_REGISTRY_LIMITS, clocks });
  const log = createLogger("debug", (line) => lines.push(line.replace(/^\S+ /, "")));
  const handshake = new Handshake({
    registry,
    send: () => {},
    accepted: {
      status: 200,
      udpPort: 1,
      maxDatagramBytes: 4096,
      heartbeatSeconds: 10,
      idleTimeoutSeconds: 300,
    },
    gate: new ConnectionGate({ maxPerIp: 8, maxTotal: 256 }),
    requestLimiter: new KeyedRateLimiter({ ratePerSecond: 0, burst: 0, clock: clocks.monotonic }),
    hashQueue: new HashQueue({ concurrency: 1, monotonic: clocks.monotonic }),
    passwordFailures: new PasswordFailures({ clock: clocks.monotonic }),
    listBudget: new KeyedBudget({ ratePerSecond: 1, burst: 1, clock: clocks.monotonic }),
    report: () => {},
    log,
    allowPlaintext: true, // these tests speak the plain protocol
  });
  return new TcrpFrontEnd(listener, {
    handshake,
    addressKeyOf: (ip) => ip,
    log,
    clocks,
    maxPayloadBytes: 16_384,
    requestTimeoutMs: 1_000,
    exchangeTimeoutMs: 2_000,
    report: () => {},
    sealed: {
      staticKey: nodeCrypto.x25519KeyPair(),
      crypto: nodeCrypto,
      signingKey: new Uint8Array(32),
    },
  });
}

Deno.test("accept loop: EMFILE and ENFILE back off and go on; a transient error retries at once", async () => {
  const { listener, accepts } = failingListener([
    withCode("EMFILE"),
    withCode("EMFILE"),
    withCode("ENFILE"),
    withCode("ECONNABORTED"),
  ]);
  const lines: string[] = [];
  const front = frontEnd(listener, lines);
  const serving = front.serve();
  const started = performance.now();
  while (accepts() < 5) await new Promise((resolve) => setTimeout(resolve, 5));
  // 5 + 10 + 20 ms of back-off before the fourth try; none after ECONNABORTED.
  assert.ok(performance.now() - started >= 35, "it waited between tries");
  await front.close();
  await serving; // a closed listener ends the loop quietly
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(lines[0]!, /^warn {2}tcp accept: EMFILE .* retrying with a back-off/);
});

Deno.test("accept loop: an error it does not know ends serve() with that error", async () => {
  const fatal = withCode("EINVAL");
  const { listener } = failingListener([withCode("EMFILE"), fatal]);
  const front = frontEnd(listener, []);
  await assert.rejects(front.serve(), (error) => error === fatal);
  await front.close();
});

Deno.test("accept loop: close() during a back-off returns at once", async () => {
  const { listener } = failingListener(Array.from({ length: 20 }, () => withCode("EMFILE")));
  const front = frontEnd(listener, []);
  const serving = front.serve();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const closing = performance.now();
  await front.close();
  await serving;
  assert.ok(performance.now() - closing < 200, "no back-off left to wait out");
});
