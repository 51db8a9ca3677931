/**
 * requestRoomList against a scripted TCRP server on loopback: it follows
 * `next` to the end, stops on a revision-1 answer without `next`, retries a
 * 429 in the middle of a walk, and refuses a list that goes round in circles.
 */
import assert from "node:assert/strict";
import {
  decodeTcrpRequest,
  encodeTcrpResponse,
  type ListRequest,
  Operation,
  type RoomSummary,
  TcrpFrameParser,
  type TcrpResponse,
} from "../protocol/tcrp.ts";
import { ChatRefusedError, ChatTransportError } from "./errors.ts";
import { MAX_LIST_WALK_BYTES, requestRoomList } from "./tcrp_client.ts";

const room = (name: string): RoomSummary => ({
  name,
  members: 1,
  capacity: null,
  passwordProtected: false,
});

/** A server that answers each LIST_ROOMS with `answer(request)`; records the requests. */
async function withScriptedServer(
  answer: (request: ListRequest, index: number) => TcrpResponse,
  body: (port: number, requests: ListRequest[]) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: ListRequest[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      const parser = new TcrpFrameParser({ maxPayloadBytes: 1024 });
      const buffer = new Uint8Array(1024);
      let frames: ReturnType<typeof parser.push> = [];
      while (frames.length === 0) {
        const n = await conn.read(buffer);
        if (n === null) break;
        frames = parser.push(buffer.subarray(0, n));
      }
      const request = decodeTcrpRequest(frames[0]!) as ListRequest;
      requests.push(request);
      const reply = answer(request, requests.length - 1);
      await conn.write(encodeTcrpResponse(Operation.LIST_ROOMS, new Uint8Array(0), reply));
      conn.close();
    }
  })();
  try {
    await body((listener.addr as Deno.NetAddr).port, requests);
  } finally {
    listener.close();
    await serving.catch(() => {});
  }
}

const server = (port: number) => ({ hostname: "127.0.0.1", port });
const noWait = () => Promise.resolve();

Deno.test("requestRoomList: follows next to the last page; the first request has an empty payload", async () => {
  const pages = [["a", "b"], ["c", "d"], ["e"]];
  await withScriptedServer(
    (_, i) => ({ status: 200, rooms: pages[i]!.map(room), next: i < 2 ? pages[i]!.at(-1)! : null }),
    async (port, requests) => {
      const rooms = await requestRoomList(server(port));
      assert.deepEqual(rooms.map((r) => r.name), ["a", "b", "c", "d", "e"]);
      assert.deepEqual(requests, [
        { operation: Operation.LIST_ROOMS },
        { operation: Operation.LIST_ROOMS, cursor: "b" },
        { operation: Operation.LIST_ROOMS, cursor: "d" },
      ]);
    },
  );
});

Deno.test("requestRoomList: a revision-1 answer (no next) is the whole list", async () => {
  await withScriptedServer(
    () => ({ status: 200, rooms: [room("only")] }),
    async (port, requests) => {
      assert.deepEqual((await requestRoomList(server(port))).map((r) => r.name), ["only"]);
      assert.equal(requests.length, 1);
    },
  );
});

Deno.test("requestRoomList: a 429 in the middle of a walk is asked again; on the first page it is an error", async () => {
  await withScriptedServer(
    (_, i) =>
      i === 1 || i === 2
        ? { status: 429, error: "too many room lists" }
        : { status: 200, rooms: [room(`r${i}`)], next: i === 0 ? "r0" : null },
    async (port, requests) => {
      const waits: number[] = [];
      const rooms = await requestRoomList(server(port), {}, (ms) => {
        waits.push(ms);
        return Promise.resolve();
      });
      assert.deepEqual(rooms.map((r) => r.name), ["r0", "r3"]);
      assert.deepEqual(waits, [250, 500]);
      assert.equal(requests.length, 4);
    },
  );
  await withScriptedServer(
    () => ({ status: 429, error: "too many requests" }),
    async (port) => {
      await assert.rejects(requestRoomList(server(port), {}, noWait), ChatRefusedError);
    },
  );
});

Deno.test("requestRoomList: a cursor that comes back again is an error, not an endless walk", async () => {
  await withScriptedServer(
    () => ({ status: 200, rooms: [room("same")], next: "same" }),
    async (port, requests) => {
      await assert.rejects(requestRoomList(server(port), {}, noWait), ChatTransportError);
      assert.equal(requests.length, 2);
    },
  );
});

Deno.test("requestRoomList: pages that add up to more than one answer may hold are an error", async () => {
  // Each page about 1.3 MB, with a new cursor every time: a list with no end in sight.
  const page = Array.from({ length: 5_000 }, (_, i) => room(`${"x".repeat(200)} ${i}`));
  await withScriptedServer(
    (_, i) => ({ status: 200, rooms: page, next: `cursor ${i}` }),
    async (port, requests) => {
      await assert.rejects(
        requestRoomList(server(port)),
        (error: unknown) =>
          error instanceof ChatTransportError && /larger than any real/.test(error.message),
      );
      const pageBytes = JSON.stringify({ status: 200, rooms: page, next: "cursor 0" }).length;
      assert.equal(requests.length, Math.floor(MAX_LIST_WALK_BYTES / pageBytes) + 1);
    },
  );
});
