/**
 * `deno task bench:memory`: what the room registry's state costs in memory.
 * Builds real {@linkcode RoomRegistry} instances, feeds them datagrams encoded
 * and decoded as the UDP front end sees them (so every stored string is the
 * one the decoder made), and reads V8's live heap before and after each step:
 * `heapUsed + external` after a forced full GC. Run it with
 * `deno run --v8-flags=--expose-gc tools/bench/state_size.ts [--members N]
 * [--rooms N] [--json]`; without `--expose-gc` the figures include garbage.
 *
 * Figures are heap bytes, not RSS: V8's page slack, the code and the runtime
 * come on top, once per process rather than per member or room.
 */
import { getHeapStatistics } from "node:v8";
import { Command, InvalidArgumentError } from "commander";
import {
  type ClientBody,
  decodeClientDatagram,
  encodeClientDatagram,
  MAX_DATAGRAM_BYTES,
} from "../../protocol/datagram.ts";
import { encodeUtf8 } from "../../protocol/bytes.ts";
import { addressKey } from "../../server/address_key.ts";
import type { DatagramSocket } from "../../server/datagram_socket.ts";
import { DEFAULT_REGISTRY_LIMITS, RoomRegistry } from "../../server/registry.ts";
import { type UdpEndpoint, UdpTransport } from "../../server/udp_endpoints.ts";
import { writeAllSync } from "./lines.ts";
import { eventTextBytes } from "../../server/event_log.ts";

/** Bytes of the tokens RoomRegistry hands out. */
const TOKEN_BYTES = 32;
/**
 * Longest MESSAGE text: what is left of a 4096-byte client datagram after its
 * sizes (2), a 1-byte room name, the token, the kind (1) and the msgId (4).
 * The EVENT it makes (15 bytes plus the sender's name) fits too, for names up
 * to 25 bytes; each send below checks that the registry acknowledged it.
 */
export const MAX_TEXT_BYTES = MAX_DATAGRAM_BYTES - (2 + 1 + TOKEN_BYTES + 1 + 4);
/** A short message: 20 ASCII characters. */
const SHORT_TEXT = "hello everyone, hi!!";
/**
 * V8 keeps a string one byte a character only when every character is
 * Latin-1; one other character makes the whole string two bytes a character.
 * So the costliest maximum-size text is ASCII but for one 2-byte UTF-8
 * character: 4055 UTF-16 units, 8110 bytes of string for 4056 bytes of UTF-8.
 */
const TWO_BYTE_TEXT = "a".repeat(MAX_TEXT_BYTES - 2) + "ж";
/** Messages a member sends to fill its msgId memory (1024) and then some, so it is steady. */
const MSG_ID_FILL = 1_024 + 100;
/**
 * One-byte room names, so that texts of MAX_TEXT_BYTES fit: this many rooms at most. Room names
 * are unique ignoring case and lookalikes (docs/protocol.md section 2), so no capitals, and no 0
 * or 1 (they look like o and l).
 */
const ONE_BYTE_NAMES = "abcdefghijklmnopqrstuvwxyz23456789";

/** How many objects to average over. */
export interface StateSizeOptions {
  /** Idle members measured, in rooms of 10 (rounded up to a multiple of 10). */
  members: number;
  /**
   * Empty rooms, rooms filled with short events and members filling their
   * msgId memory; a tenth of it (at most 34) for the maximum-size windows.
   */
  rooms: number;
}

/** Measured sizes in bytes, and the counts they are averaged over. */
export interface StateSize {
  /** Whether a full GC ran before each reading (deno run --v8-flags=--expose-gc). */
  gcForced: boolean;
  deno: string;
  v8: string;
  /** V8's heap limit in this process: past it, the process dies. */
  heapLimitBytes: number;
  counts: {
    members: number;
    rooms: number;
    msgIdMembers: number;
    shortWindowRooms: number;
    maxWindowRooms: number;
  };
  /** The longest MESSAGE text, in bytes of UTF-8. */
  maxTextBytes: number;
  /** The event text budget of a room (DEFAULT_REGISTRY_LIMITS.historyBytes). */
  historyBytes: number;
  /** Events of maximum-size text a window keeps under that budget. */
  maxWindowEvents: number;
  /** A member after HELLO that has sent nothing, in a room of 10; counts its JOINED event. */
  memberBytes: number;
  /** A room with its host, minus one member. */
  emptyRoomBytes: number;
  /** What a member adds once it has sent more than 1024 MESSAGEs (its msgId memory is full). */
  msgIdMemoryBytes: number;
  /** A room's event window going from its host's JOINED event to 1024 events of 20 ASCII bytes. */
  shortWindowBytes: number;
  /** The same with texts of MAX_TEXT_BYTES ASCII characters (the budget keeps fewer). */
  maxWindowBytes: number;
  /** The same with texts of MAX_TEXT_BYTES bytes that V8 stores two bytes a character. */
  maxWindowTwoByteBytes: number;
  /** Rooms and members at DEFAULT_REGISTRY_LIMITS, every room's window full of maximum-size events. */
  worstCase: {
    maxRooms: number;
    maxMembers: number;
    /** ASCII texts, members idle. */
    idleMembersBytes: number;
    /** ASCII texts, every member's msgId memory full. */
    busyMembersBytes: number;
    /** Two-byte texts, every member's msgId memory full. */
    twoByteBytes: number;
    /**
     * A bound for any text length: every room holds 1024 events at the short
     * window's cost each, plus its whole text budget at 1 byte a counted byte
     * (the budget counts 2 a UTF-16 unit and V8 stores at most 2), and every
     * member's msgId memory is full.
     */
    boundBytes: number;
  };
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Live bytes now: a full GC first when one can be forced (twice, for weak references). */
function liveBytes(): number {
  gc?.();
  gc?.();
  const { heapUsed, external } = Deno.memoryUsage();
  return heapUsed + external;
}

interface Admitted {
  roomName: string;
  token: Uint8Array;
  from: UdpEndpoint;
}

/** Endpoints as the UDP front end makes them; nothing is sent here. */
const transport = new UdpTransport({} as DatagramSocket, (ip) => addressKey(ip));

/**
 * A registry at the default limits but for the totals (so a measurement is
 * not refused), with a clock that moves on 100 ms a MESSAGE: the default rate
 * limit of 20 a second never refuses one.
 */
class Driver {
  now = Date.now();
  registry: RoomRegistry;
  #members = 0;
  #msgId = 0;

  constructor(historyLimit: number = DEFAULT_REGISTRY_LIMITS.historyLimit) {
    this.registry = new RoomRegistry({
      ...DEFAULT_REGISTRY_LIMITS,
      historyLimit,
      maxRooms: Number.MAX_SAFE_INTEGER,
      maxMembers: Number.MAX_SAFE_INTEGER,
      maxRoomsPerIp: Number.MAX_SAFE_INTEGER,
      clocks: { monotonic: () => this.now, wall: () => this.now },
    });
  }

  /**
   * Creates the room (`host`) or joins it, then says HELLO. The address and
   * name strings are new for each member, as a server's front ends make them.
   */
  admit(roomName: string, host: boolean): Admitted {
    const n = this.#members++;
    const ip = () => `10.${n >> 16}.${(n >> 8) & 255}.${n & 255}`;
    const request = {
      roomName,
      username: `member${n}`,
      peer: { address: ip(), addressKey: addressKey(ip()) },
    };
    const result = host
      ? this.registry.create({ ...request, password: null, capacity: null })
      : this.registry.join({ ...request, passwordProof: null });
    if (!result.ok) throw new Error(`${roomName}: ${result.error}`);
    const from = transport.endpointOf({ hostname: ip(), port: 20_000 + n % 40_000 });
    const admitted = { roomName, token: result.token, from };
    this.send(admitted, { kind: "hello", lastSeq: 0 });
    return admitted;
  }

  send({ roomName, token, from }: Admitted, body: ClientBody): void {
    const datagram = decodeClientDatagram(encodeClientDatagram({ roomName, token, body }));
    const out = this.registry.handleDatagram(from, datagram);
    if (out[0]?.body.kind === "error") throw new Error(`${body.kind}: ${out[0].body.text}`);
  }

  message(member: Admitted, text: string): void {
    this.now += 100;
    this.send(member, { kind: "message", msgId: ++this.#msgId, text });
  }
}

/** Bytes per room of rooms that hold only their host. */
function hostOnlyRoomBytes(rooms: number): number {
  const driver = new Driver();
  const before = liveBytes();
  for (let i = 0; i < rooms; i++) driver.admit(`room ${i}`, true);
  const bytes = (liveBytes() - before) / rooms;
  if (driver.registry.roomCount !== rooms) throw new Error("rooms went missing");
  return bytes;
}

/** Bytes per room of rooms of 10 members. */
function roomOfTenBytes(rooms: number): number {
  const driver = new Driver();
  const before = liveBytes();
  for (let i = 0; i < rooms; i++) {
    for (let m = 0; m < 10; m++) driver.admit(`room ${i}`, m === 0);
  }
  const bytes = (liveBytes() - before) / rooms;
  if (driver.registry.memberCount !== rooms * 10) throw new Error("members went missing");
  return bytes;
}

/**
 * Bytes per member that has sent MSG_ID_FILL messages, over what it cost
 * idle. The rooms keep one event, so only the msgId memory grows.
 */
function msgIdMemoryBytes(members: number): number {
  const driver = new Driver(1);
  const senders = Array.from({ length: members }, (_, i) => driver.admit(`room ${i}`, true));
  const before = liveBytes();
  for (const sender of senders) {
    for (let i = 0; i < MSG_ID_FILL; i++) driver.message(sender, SHORT_TEXT);
  }
  const bytes = (liveBytes() - before) / members;
  if (driver.registry.memberCount !== members) throw new Error("members went missing");
  return bytes;
}

/**
 * Bytes per room for filling the window of rooms that hold their host. A
 * second member sends the events and leaves, so that its msgId memory is
 * freed: the window then holds 1023 MESSAGE events and its LEFT event, or
 * as many of the newest as the text budget (historyBytes) keeps.
 */
function windowBytes(rooms: number, text: string): number {
  const driver = new Driver();
  const limit = DEFAULT_REGISTRY_LIMITS.historyLimit;
  // One-byte names where there are enough, for MAX_TEXT_BYTES; short texts fit with any.
  const names = Array.from(
    { length: rooms },
    (_, i) => rooms <= ONE_BYTE_NAMES.length ? ONE_BYTE_NAMES[i]! : `room ${i}`,
  );
  for (const name of names) driver.admit(name, true);
  const before = liveBytes();
  for (const name of names) {
    const sender = driver.admit(name, false);
    for (let i = 0; i < limit; i++) driver.message(sender, text);
    driver.send(sender, { kind: "leave" });
  }
  const bytes = (liveBytes() - before) / rooms;
  if (driver.registry.memberCount !== rooms) throw new Error("members went missing");
  return bytes;
}

/** Measures every figure of {@linkcode StateSize}, averaging over the counts in `options`. */
export function measureStateSize(options: StateSizeOptions): StateSize {
  const roomsOfTen = Math.max(1, Math.ceil(options.members / 10));
  const rooms = Math.max(1, options.rooms);
  const maxWindowRooms = Math.min(ONE_BYTE_NAMES.length, Math.ceil(rooms / 10));
  if (encodeUtf8(TWO_BYTE_TEXT).length !== MAX_TEXT_BYTES) throw new Error("TWO_BYTE_TEXT size");

  // Once small first, so that compiled code and inline caches, which live on
  // the heap too, are not counted as state.
  hostOnlyRoomBytes(10);
  roomOfTenBytes(10);
  msgIdMemoryBytes(2);
  for (const text of [SHORT_TEXT, "a".repeat(MAX_TEXT_BYTES), TWO_BYTE_TEXT]) windowBytes(1, text);

  const hostRoom = hostOnlyRoomBytes(rooms);
  const memberBytes = (roomOfTenBytes(roomsOfTen) - hostRoom) / 9;
  const msgIdMemory = msgIdMemoryBytes(rooms);
  const shortWindow = windowBytes(rooms, SHORT_TEXT);
  const maxWindow = windowBytes(maxWindowRooms, "a".repeat(MAX_TEXT_BYTES));
  const maxWindowTwoByte = windowBytes(maxWindowRooms, TWO_BYTE_TEXT);

  const { maxRooms, maxMembers, historyBytes, historyLimit } = DEFAULT_REGISTRY_LIMITS;
  // As EventLog counts (2 bytes a UTF-16 unit of text and name); the same for both max texts.
  const maxEventCost = eventTextBytes({ name: "m1", text: "a".repeat(MAX_TEXT_BYTES) });
  const maxWindowEvents = Math.min(
    historyLimit,
    Math.max(1, Math.floor(historyBytes / maxEventCost)),
  );
  const roomsAt = (window: number) => maxRooms * (hostRoom - memberBytes + window);
  return {
    gcForced: gc !== undefined,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    heapLimitBytes: getHeapStatistics().heap_size_limit,
    counts: {
      members: roomsOfTen * 10,
      rooms,
      msgIdMembers: rooms,
      shortWindowRooms: rooms,
      maxWindowRooms,
    },
    maxTextBytes: MAX_TEXT_BYTES,
    historyBytes,
    maxWindowEvents,
    memberBytes,
    emptyRoomBytes: hostRoom - memberBytes,
    msgIdMemoryBytes: msgIdMemory,
    shortWindowBytes: shortWindow,
    maxWindowBytes: maxWindow,
    maxWindowTwoByteBytes: maxWindowTwoByte,
    worstCase: {
      maxRooms,
      maxMembers,
      idleMembersBytes: roomsAt(maxWindow) + maxMembers * memberBytes,
      busyMembersBytes: roomsAt(maxWindow) + maxMembers * (memberBytes + msgIdMemory),
      twoByteBytes: roomsAt(maxWindowTwoByte) + maxMembers * (memberBytes + msgIdMemory),
      boundBytes: roomsAt(shortWindow + historyBytes) + maxMembers * (memberBytes + msgIdMemory),
    },
  };
}

const whole = (bytes: number) => Math.round(bytes).toLocaleString("en-US");
const mib = (bytes: number) =>
  `${(bytes / 2 ** 20).toLocaleString("en-US", { maximumFractionDigits: 0 })} MiB`;

/** The figures as a plain-text table. */
export function formatStateSize(size: StateSize): string {
  const { counts, worstCase: worst } = size;
  const perEvent = (window: number, events: number = DEFAULT_REGISTRY_LIMITS.historyLimit) =>
    `${whole(window / events)} an event`;
  const rows: [string, string, string][] = [
    [
      "idle member (after HELLO, in a room of 10)",
      whole(size.memberBytes),
      `${whole(counts.members)} members`,
    ],
    ["empty room (host not counted)", whole(size.emptyRoomBytes), `${whole(counts.rooms)} rooms`],
    [
      "msgId memory of a member that sent >1024 MESSAGEs",
      whole(size.msgIdMemoryBytes),
      `${whole(counts.msgIdMembers)} members`,
    ],
    [
      `window of 1024 short events (${SHORT_TEXT.length} B ASCII)`,
      whole(size.shortWindowBytes),
      `${counts.shortWindowRooms} rooms, ${perEvent(size.shortWindowBytes)}`,
    ],
    [
      `window after 1024 max events (${size.maxTextBytes} B ASCII), ${size.maxWindowEvents} kept`,
      whole(size.maxWindowBytes),
      `${counts.maxWindowRooms} rooms, ${perEvent(size.maxWindowBytes, size.maxWindowEvents)}`,
    ],
    [
      `same, two-byte string (${size.maxTextBytes - 2} ASCII + "ж")`,
      whole(size.maxWindowTwoByteBytes),
      `${counts.maxWindowRooms} rooms, ${
        perEvent(size.maxWindowTwoByteBytes, size.maxWindowEvents)
      }`,
    ],
  ];
  const at = `${whole(worst.maxRooms)} rooms of full max windows + ${
    whole(worst.maxMembers)
  } members`;
  const worstRows: [string, string][] = [
    [`${at}, idle, ASCII`, mib(worst.idleMembersBytes)],
    [`${at}, msgId memory full, ASCII`, mib(worst.busyMembersBytes)],
    [`${at}, msgId memory full, two-byte`, mib(worst.twoByteBytes)],
    ["bound for any text: 1024 events a room + the whole text budget", mib(worst.boundBytes)],
    ["V8 heap limit of this process", mib(size.heapLimitBytes)],
  ];
  const width = Math.max(...rows.map(([what]) => what.length), ...worstRows.map(([w]) => w.length));
  const lines = [
    `registry state size, heap bytes (heapUsed + external${
      size.gcForced ? ", after full GC" : ", NO forced GC: run with --v8-flags=--expose-gc"
    }), deno ${size.deno}, V8 ${size.v8}`,
    "",
    `${"what".padEnd(width)}  ${"bytes".padStart(11)}  averaged over`,
    ...rows.map(([what, bytes, over]) => `${what.padEnd(width)}  ${bytes.padStart(11)}  ${over}`),
    "",
    "worst case at DEFAULT_REGISTRY_LIMITS (from the figures above)",
    ...worstRows.map(([what, bytes]) => `${what.padEnd(width)}  ${bytes.padStart(11)}`),
  ];
  return lines.join("\n") + "\n";
}

function count(text: string): number {
  if (!/^[1-9]\d*$/.test(text)) throw new InvalidArgumentError("expected a whole number > 0");
  return Number(text);
}

if (import.meta.main) {
  const flags = new Command("state_size")
    .description("memory of the room registry's state: per member, per room, per full event window")
    .option("--members <n>", "idle members to average over, in rooms of 10", count, 10_000)
    .option("--rooms <n>", "rooms to average over (a tenth for maximum-size windows)", count, 200)
    .option("--json", "print JSON instead of a table")
    .parse(Deno.args, { from: "user" })
    .opts();
  const size = measureStateSize({ members: flags.members, rooms: flags.rooms });
  writeAllSync(
    Deno.stdout,
    flags.json ? JSON.stringify(size, null, 2) + "\n" : formatStateSize(size),
  );
}
