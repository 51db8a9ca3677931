/**
 * Helpers for the sealed TCRP tests over loopback: a test server with cheap
 * password hashing, a key check that trusts exactly its key, requests, and a
 * real connection as a frame stream that records what the client wrote.
 */
import assert from "node:assert/strict";
import { nodeCrypto } from "../crypto/node_crypto.ts";
import type { FrameStream } from "../client/sealed_exchange.ts";
import { encodeUtf8 } from "../protocol/bytes.ts";
import { ServerKeyMismatchError } from "../protocol/sealed_types.ts";
import { Operation, type RoomRequest, type TcrpFrame, TcrpFrameParser } from "../protocol/tcrp.ts";
import type { ServerHooks } from "../server/server.ts";
import type { ServerConfig } from "../server/config.ts";
import { errorLines, startTestServer, type TestServer } from "./test_server.ts";

/** The test server's TCRP address as a HostPort. */
export const server = (s: TestServer): { hostname: string; port: number } => ({
  hostname: s.tcpAddr.hostname,
  port: s.tcpAddr.port,
});

/** Trusts exactly the test server's key, as a pin would. */
export function trusting(
  s: TestServer,
): { crypto: typeof nodeCrypto; checkServerKey: (key: Uint8Array) => void; timeoutMs: number } {
  return {
    crypto: nodeCrypto,
    checkServerKey: (key: Uint8Array) => {
      if (!sameBytes(key, s.staticPublicKey)) {
        throw new ServerKeyMismatchError(s.staticPublicKey, key, "the server's key changed");
      }
    },
    timeoutMs: 5_000,
  };
}

/** Whether two byte arrays hold the same bytes. */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((byte, i) => byte === b[i]);

/** A CREATE or JOIN request of revision 2. */
export function ask(
  operation: "create" | "join",
  roomName: string,
  username: string,
  password: string | null = null,
): RoomRequest {
  return {
    operation: operation === "create" ? Operation.CREATE_ROOM : Operation.JOIN_ROOM,
    roomName,
    username,
    password,
    capacity: null,
    protocol: 2,
  };
}

/** A real connection as a FrameStream that also keeps every byte the client wrote. */
export async function recordingStream(
  s: TestServer,
): Promise<{ stream: FrameStream; written: Uint8Array[]; close: () => void }> {
  const conn = await Deno.connect({ hostname: s.tcpAddr.hostname, port: s.tcpAddr.port });
  const written: Uint8Array[] = [];
  const parser = new TcrpFrameParser({ maxPayloadBytes: 1 << 20 });
  const frames: TcrpFrame[] = [];
  const buffer = new Uint8Array(16 * 1024);
  const stream: FrameStream = {
    async write(bytes) {
      written.push(bytes.slice());
      let n = 0;
      while (n < bytes.length) n += await conn.write(bytes.subarray(n));
    },
    async read() {
      while (frames.length === 0) {
        const n = await conn.read(buffer);
        if (n === null) return null;
        frames.push(...parser.push(buffer.subarray(0, n)));
      }
      return frames.shift()!;
    },
  };
  return { stream, written, close: () => conn.close() };
}

/** Runs `run` against a fresh test server (cheap passwords), checks it logged no error, shuts it down. */
export async function withServer(
  overrides: Partial<ServerConfig>,
  run: (s: TestServer) => Promise<void>,
  hooks: ServerHooks = {},
): Promise<void> {
  const s = startTestServer(overrides, { passwords: cheapPasswords, ...hooks });
  try {
    await run(s);
    assert.deepEqual(errorLines(s), []);
  } finally {
    await s.shutdown();
  }
}

/** Password hashing without scrypt's cost (the handshake's rules do not depend on it). */
export const cheapPasswords = {
  hash: (password: string) =>
    Promise.resolve({ salt: new Uint8Array(16), hash: encodeUtf8(password) }),
  verify: (password: string, record: { hash: Uint8Array }) =>
    Promise.resolve(sameBytes(encodeUtf8(password), record.hash)),
};
