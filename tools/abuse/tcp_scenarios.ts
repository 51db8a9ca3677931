/**
 * Abuse over TCP (TCRP): oversized size fields, connections that send
 * nothing (slowloris), half a header, and names that break the rules.
 */
import { encodeUtf8 } from "../../protocol/bytes.ts";
import { decodeTcrpResponse, encodeTcrpRequest, Operation } from "../../protocol/tcrp.ts";
import {
  concatBytes,
  listRooms,
  rawHeader,
  requestFrame,
  type TcrpExchange,
  tcrpRequest,
} from "../../testing/raw_client.ts";
import { tcrpRequestFrom } from "../../testing/tcp_from.ts";
import type { AbuseOutcome, Scenario, Target } from "./harness.ts";

/** The state-1 status of an exchange, or "none" when nothing came. */
function statusOf(exchange: TcrpExchange): number | "none" {
  const first = exchange.frames[0];
  return first === undefined ? "none" : decodeTcrpResponse(first).status;
}

/** Runs `jobs` at most `width` at a time (so one address stays under its handshake limit). */
async function inWaves<T>(jobs: (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < jobs.length; i += width) {
    results.push(...await Promise.all(jobs.slice(i, i + width).map((job) => job())));
  }
  return results;
}

function tally(values: (number | string)[]): string {
  const counts = new Map<number | string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].map(([value, n]) => `${n}× ${value}`).join(", ");
}

/** Headers whose size field is over the limit, not representable, or has high bytes set. */
export const oversizedSizeFields: Scenario = {
  name: "oversized TCRP size fields",
  expectedKinds: ["oversized-request"],
  async run(target: Target): Promise<AbuseOutcome> {
    const total = target.scale === "full" ? 240 : 24;
    const highByte = rawHeader({ operation: Operation.CREATE_ROOM, payloadSize: 10 });
    highByte[3] = 1;
    const headers = [
      rawHeader({ operation: Operation.CREATE_ROOM, roomNameSize: 4, payloadSize: 65_537 }),
      rawHeader({ operation: Operation.JOIN_ROOM, payloadSize: 2n ** 53n - 1n }),
      rawHeader({ operation: Operation.CREATE_ROOM, payloadSize: 2n ** 64n - 1n }),
      highByte,
    ];
    const exchanges = await inWaves(
      Array.from({ length: total }, (_, i) => () => tcrpRequest(target.tcpAddr, headers[i % 4]!)),
      target.maxHandshakesPerIp,
    );
    const statuses = exchanges.map(statusOf);
    const failures: string[] = [];
    const wrong = statuses.filter((status) => status !== 413).length;
    if (wrong > 0) failures.push(`${wrong} of ${total} were not answered 413: ${tally(statuses)}`);
    const open = exchanges.filter((e) => !e.closedByServer).length;
    if (open > 0) failures.push(`${open} connections were left open after the 413`);
    return {
      sends: `${total} headers with a size over 64 KiB, over 2^53-1, or high bytes set`,
      failures,
      notes: [`answers: ${tally(statuses)}`],
    };
  },
};

/** More idle connections than the per-address limit; then a client from 127.0.0.2. */
export const slowloris: Scenario = {
  name: "slowloris (idle connections)",
  expectedKinds: ["handshake-limit", "handshake-timeout"],
  async run(target: Target): Promise<AbuseOutcome> {
    const total = target.scale === "full" ? 200 : target.maxHandshakesPerIp + 4;
    const deadlineMs = target.handshakeTimeoutSeconds * 1000;
    const started = performance.now();
    const idle = Array.from(
      { length: total },
      () =>
        tcrpRequest(target.tcpAddr, new Uint8Array(0), { timeoutMs: deadlineMs + 3_000 })
          .then((exchange) => ({ exchange, ms: performance.now() - started })),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const failures: string[] = [];
    const list = encodeTcrpRequest({ operation: Operation.LIST_ROOMS });
    const other = await tcrpRequestFrom(target.tcpAddr, list, "127.0.0.2");
    if (statusOf(other) !== 200) {
      failures.push(`a client from 127.0.0.2 got ${statusOf(other)} while the slots were held`);
    }
    const results = await Promise.all(idle);
    const held = results.filter((r) => r.exchange.frames.length === 0);
    const refused = results.filter((r) => statusOf(r.exchange) === 429);
    if (held.length !== target.maxHandshakesPerIp) {
      failures.push(`${held.length} connections were held, not ${target.maxHandshakesPerIp}`);
    }
    if (refused.length !== total - held.length) {
      failures.push(`of ${total}: ${refused.length} refused with 429, ${held.length} held`);
    }
    const late = held.filter((r) =>
      !r.exchange.closedByServer || r.ms < deadlineMs - 100 || r.ms > deadlineMs + 1_500
    );
    if (late.length > 0) {
      failures.push(
        `${late.length} idle connections were not closed by the ${deadlineMs} ms deadline: ` +
          late.map((r) => r.ms.toFixed(0)).join(", "),
      );
    }
    const slowest = Math.max(...refused.map((r) => r.ms));
    return {
      sends: `${total} TCP connections from 127.0.0.1 that send nothing`,
      failures,
      notes: [
        `${held.length} held and closed after ${
          Math.max(...held.map((r) => r.ms)).toFixed(0)
        } ms, ${refused.length} refused at once (slowest ${slowest.toFixed(0)} ms); ` +
        "127.0.0.2 served meanwhile",
      ],
    };
  },
};

/** 16 of a header's 32 bytes, then silence. */
export const halfHeader: Scenario = {
  name: "half a header",
  expectedKinds: ["handshake-timeout"],
  async run(target: Target): Promise<AbuseOutcome> {
    const total = target.scale === "full"
      ? 5 * target.maxHandshakesPerIp
      : target.maxHandshakesPerIp;
    const deadlineMs = target.handshakeTimeoutSeconds * 1000;
    const half = rawHeader({ operation: Operation.CREATE_ROOM, payloadSize: 20 }).subarray(0, 16);
    const results = await inWaves(
      Array.from({ length: total }, () => async () => {
        const started = performance.now();
        const exchange = await tcrpRequest(target.tcpAddr, half, { timeoutMs: deadlineMs + 3_000 });
        return { exchange, ms: performance.now() - started };
      }),
      target.maxHandshakesPerIp,
    );
    const wrong = results.filter((r) =>
      r.exchange.frames.length > 0 || !r.exchange.closedByServer || r.ms < deadlineMs - 100 ||
      r.ms > deadlineMs + 1_500
    );
    return {
      sends: `${total} connections that send 16 header bytes and stop`,
      failures: wrong.length === 0
        ? []
        : [`${wrong.length} were not closed unanswered at the ${deadlineMs} ms deadline`],
      notes: [`closed after ${Math.max(...results.map((r) => r.ms)).toFixed(0)} ms at most`],
    };
  },
};

const BAD_UTF8 = [
  new Uint8Array([0xff, 0xfe]),
  new Uint8Array([0xc0, 0x80]), // overlong NUL
  new Uint8Array([0xed, 0xa0, 0x80]), // a surrogate
];

/** Requests whose room name or username has control characters, invalid UTF-8 or only spaces. */
function badNameRequests(): { what: string; bytes: Uint8Array }[] {
  const create = (room: string | Uint8Array, payload: string | Uint8Array) =>
    requestFrame(Operation.CREATE_ROOM, room, payload);
  const user = (name: string) => JSON.stringify({ username: name });
  const requests = [
    { what: "username with a NUL", bytes: create("r1", user("a\u0000b")) },
    { what: "username with ESC [31m", bytes: create("r2", user("\u001b[31mred")) },
    { what: "username with a newline", bytes: create("r3", user("ann\nINFO fake")) },
    { what: "username of only spaces", bytes: create("r4", user("   ")) },
    { what: "username of an ideographic space", bytes: create("r5", user("\u3000")) },
    { what: "room name with a newline", bytes: create("room\n", user("ann")) },
    { what: "room name with DEL", bytes: create("room\u007f", user("ann")) },
    { what: "room name of only spaces", bytes: create("   ", user("ann")) },
    {
      what: "join with a control character",
      bytes: requestFrame(Operation.JOIN_ROOM, "bystander", user("\u0007bell")),
    },
  ];
  for (const bad of BAD_UTF8) {
    requests.push({ what: "room name of invalid UTF-8", bytes: create(bad, user("ann")) });
    requests.push({
      what: "username of invalid UTF-8",
      bytes: create("r6", concatBytes(encodeUtf8('{"username":"'), bad, encodeUtf8('"}'))),
    });
  }
  return requests;
}

/** Every bad name gets 400 and nothing is created or joined. */
export const badNames: Scenario = {
  name: "bad names",
  expectedKinds: ["bad-request"],
  async run(target: Target): Promise<AbuseOutcome> {
    const rounds = target.scale === "full" ? 2 : 1;
    const requests = badNameRequests();
    const failures: string[] = [];
    for (let round = 0; round < rounds; round++) {
      // Under the default TCRP request rate (10 a second, bursts of 30).
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, 1_500));
      for (const { what, bytes } of requests) {
        const status = statusOf(await tcrpRequest(target.tcpAddr, bytes));
        if (status !== 400) failures.push(`${what}: ${status}, not 400`);
      }
    }
    const rooms = await listRooms(target.tcpAddr);
    const names = rooms.map((room) => `${room.name} (${room.members})`).join(", ");
    if (names !== "bystander (2)") failures.push(`rooms after bad names: ${names}`);
    return {
      sends: `${rounds * requests.length} CREATE/JOIN requests with control characters, ` +
        "invalid UTF-8 or only spaces in names",
      failures,
      notes: [],
    };
  },
};
