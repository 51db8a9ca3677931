/**
 * Small raw clients for black-box tests of the real server: TCRP requests as
 * bytes over a real TCP connection, and chat members over a real UDP socket.
 * Every wait has a deadline, and every socket has a close.
 */
import assert from "node:assert/strict";
import { concatBytes, encodeUtf8 } from "../protocol/bytes.ts";
import {
  type ClientBody,
  decodeServerDatagram,
  encodeClientDatagram,
  type ServerBody,
} from "../protocol/datagram.ts";
import {
  decodeTcrpResponse,
  encodeTcrpFrame,
  encodeTcrpRequest,
  Operation,
  type RoomSummary,
  State,
  type TcrpFrame,
  TcrpFrameParser,
  type TcrpResponse,
  TOKEN_BYTES,
} from "../protocol/tcrp.ts";
import type { ChatServer } from "../server/server.ts";
import type { TestServer } from "./test_server.ts";

/** What one TCRP connection delivered. */
export interface TcrpExchange {
  frames: TcrpFrame[];
  /** True when the server closed the connection (EOF or reset) before the deadline. */
  closedByServer: boolean;
  /** Bytes after the last whole frame. */
  leftoverBytes: number;
}

/** Options for {@linkcode tcrpRequest}. */
export interface TcrpRequestOptions {
  /** Give up (and close) after this long; default 2000 ms. */
  timeoutMs?: number;
}

/**
 * Connects, writes `bytes` (nothing when empty), and reads frames until the
 * server closes the connection or the deadline passes.
 */
export async function tcrpRequest(
  addr: Deno.NetAddr,
  bytes: Uint8Array,
  options: TcrpRequestOptions = {},
): Promise<TcrpExchange> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const conn = await Deno.connect({ hostname: addr.hostname, port: addr.port });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch { /* already closed */ }
  }, timeoutMs);
  const parser = new TcrpFrameParser({ maxPayloadBytes: 1024 * 1024 });
  const frames: TcrpFrame[] = [];
  let closedByServer = false;
  try {
    let written = 0;
    while (written < bytes.length) written += await conn.write(bytes.subarray(written));
    const buffer = new Uint8Array(16 * 1024);
    while (true) {
      let n: number | null;
      try {
        n = await conn.read(buffer);
      } catch (error) {
        if (timedOut) break;
        if (error instanceof Deno.errors.ConnectionReset) {
          closedByServer = true;
          break;
        }
        throw error;
      }
      if (n === null) {
        closedByServer = !timedOut;
        break;
      }
      frames.push(...parser.push(buffer.subarray(0, n)));
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
  return { frames, closedByServer, leftoverBytes: parser.pendingBytes };
}

/** The state-1 answer of an exchange, decoded; fails when there is none. */
export function responseOf(exchange: TcrpExchange): TcrpResponse {
  const first = exchange.frames[0];
  if (first === undefined) throw new Error("the server sent no frame");
  return decodeTcrpResponse(first);
}

/** What a create or join asks for. */
export interface RoomAsk {
  room: string;
  username: string;
  password?: string;
  capacity?: number;
  /** The protocol revision to ask for; absent: none (revision 1). */
  protocol?: number;
}

/** The outcome of a create or join: the state-1 answer and, on success, the token. */
export interface RoomAnswer {
  response: TcrpResponse;
  token: Uint8Array | null;
  exchange: TcrpExchange;
}

/** Sends one CREATE_ROOM or JOIN_ROOM request and reads the answer. */
export async function roomRequest(
  addr: Deno.NetAddr,
  op: "create" | "join",
  ask: RoomAsk,
  options: TcrpRequestOptions = {},
): Promise<RoomAnswer> {
  const bytes = encodeTcrpRequest({
    operation: op === "create" ? Operation.CREATE_ROOM : Operation.JOIN_ROOM,
    roomName: ask.room,
    username: ask.username,
    password: ask.password ?? null,
    capacity: ask.capacity ?? null,
    ...(ask.protocol === undefined ? {} : { protocol: ask.protocol }),
  });
  const exchange = await tcrpRequest(addr, bytes, options);
  const response = responseOf(exchange);
  const completion = exchange.frames[1];
  let token: Uint8Array | null = null;
  if (response.status === 200) {
    if (completion?.state !== State.COMPLETE || completion.payload.length !== TOKEN_BYTES) {
      throw new Error("a 200 answer was not followed by a state-2 frame with a 32-byte token");
    }
    token = completion.payload;
  }
  return { response, token, exchange };
}

/** Creates or joins a room and returns the token; throws when refused. */
export async function handshake(
  addr: Deno.NetAddr,
  op: "create" | "join",
  ask: RoomAsk,
  options: TcrpRequestOptions = {},
): Promise<Uint8Array> {
  const answer = await roomRequest(addr, op, ask, options);
  if (answer.token === null) {
    throw new Error(`${op} "${ask.room}" refused: ${JSON.stringify(answer.response)}`);
  }
  return answer.token;
}

/** LIST_ROOMS. */
export async function listRooms(addr: Deno.NetAddr): Promise<RoomSummary[]> {
  const exchange = await tcrpRequest(addr, encodeTcrpRequest({ operation: Operation.LIST_ROOMS }));
  const response = responseOf(exchange);
  if (response.status !== 200 || !("rooms" in response)) {
    throw new Error(`LIST_ROOMS refused: ${JSON.stringify(response)}`);
  }
  return response.rooms;
}

/** A server datagram kind. */
export type ServerKindName = ServerBody["kind"];
/** The server datagram of one kind. */
export type BodyOf<K extends ServerKindName> = Extract<ServerBody, { kind: K }>;

/**
 * A UDP socket speaking chat datagrams for one token. Received datagrams are
 * decoded and kept in arrival order until a `next` takes them.
 */
export class UdpMember {
  readonly room: string;
  readonly token: Uint8Array;
  readonly conn: Deno.DatagramConn;
  #server: Deno.NetAddr;
  #inbox: ServerBody[] = [];
  #undecodable: string[] = [];
  #wakers = new Set<() => void>();
  #pump: Promise<void>;
  #msgId = 0;
  #closed = false;

  /** Binds a socket on `localHostname` port 0 for `token` in `room`. */
  constructor(server: Deno.NetAddr, room: string, token: Uint8Array, localHostname = "127.0.0.1") {
    this.room = room;
    this.token = token;
    this.#server = server;
    this.conn = Deno.listenDatagram({ hostname: localHostname, port: 0, transport: "udp" });
    this.#pump = this.#receive();
  }

  async #receive(): Promise<void> {
    while (true) {
      let data: Uint8Array;
      try {
        [data] = await this.conn.receive();
      } catch {
        return; // closed
      }
      try {
        this.#inbox.push(decodeServerDatagram(data));
      } catch (error) {
        this.#undecodable.push(String(error));
      }
      for (const wake of this.#wakers) wake();
    }
  }

  /** Sends raw bytes to the server's UDP port. */
  async sendRaw(bytes: Uint8Array): Promise<void> {
    const { hostname, port } = this.#server;
    await this.conn.send(bytes, { transport: "udp", hostname, port });
  }

  /** Sends one client datagram with this member's room and token. */
  async send(body: ClientBody): Promise<void> {
    await this.sendRaw(encodeClientDatagram({ roomName: this.room, token: this.token, body }));
  }

  /** Sends a MESSAGE with a fresh msgId and returns that id. */
  async say(text: string): Promise<number> {
    const msgId = ++this.#msgId;
    await this.send({ kind: "message", msgId, text });
    return msgId;
  }

  /**
   * Takes the oldest received datagram of `kind` that `where` accepts, waiting
   * up to `timeoutMs`. Other datagrams stay queued.
   */
  async next<K extends ServerKindName>(
    kind: K,
    timeoutMs = 1000,
    where: (body: BodyOf<K>) => boolean = () => true,
  ): Promise<BodyOf<K>> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      if (this.#undecodable.length > 0) {
        throw new Error(`received an undecodable datagram: ${this.#undecodable.join("; ")}`);
      }
      const index = this.#inbox.findIndex((body) => body.kind === kind && where(body as BodyOf<K>));
      if (index >= 0) return this.#inbox.splice(index, 1)[0] as BodyOf<K>;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `no ${kind} datagram within ${timeoutMs} ms; queued: ${JSON.stringify(this.#inbox)}`,
        );
      }
      await this.#wait(left);
    }
  }

  /** Waits `ms` and returns every datagram received meanwhile (and queued before), emptying the queue. */
  async drain(ms: number): Promise<ServerBody[]> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (this.#undecodable.length > 0) {
      throw new Error(`received an undecodable datagram: ${this.#undecodable.join("; ")}`);
    }
    return this.#inbox.splice(0);
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakers.add(wake);
    });
  }

  /** Closes the socket and waits for the receive loop to end. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.conn.close();
      } catch { /* already closed */ }
    }
    await this.#pump;
    for (const wake of this.#wakers) wake();
  }
}

/** A member after its HELLO: the WELCOME it got and the events replayed with it. */
export interface JoinedMember {
  member: UdpMember;
  welcome: BodyOf<"welcome">;
  replayed: BodyOf<"event">[];
}

/**
 * The whole way in: TCRP create or join, a UDP socket on `localHostname`,
 * HELLO with lastSeq 0, then the WELCOME and every event it replays. Closes
 * the socket if any step fails.
 */
export async function enterRoom(
  server: Pick<ChatServer, "tcpAddr" | "udpAddr">,
  op: "create" | "join",
  ask: RoomAsk,
  localHostname = "127.0.0.1",
): Promise<JoinedMember> {
  const token = await handshake(server.tcpAddr, op, ask);
  const member = new UdpMember(server.udpAddr, ask.room, token, localHostname);
  try {
    await member.send({ kind: "hello", lastSeq: 0 });
    const welcome = await member.next("welcome");
    const replayed: BodyOf<"event">[] = [];
    const first = Math.max(1, welcome.headSeq - 49);
    for (let seq = first; seq <= welcome.headSeq; seq++) {
      replayed.push(await member.next("event", 1000, (event) => event.seq === seq));
    }
    return { member, welcome, replayed };
  } catch (error) {
    await member.close();
    throw error;
  }
}

/** Closes every member, then shuts the server down, even when one close fails. */
export async function closeAll(server: ChatServer, members: (UdpMember | null)[]): Promise<void> {
  await Promise.allSettled(members.map((member) => member?.close()));
  await server.shutdown();
}

/** A 32-byte TCRP header built by hand, for malformed input. */
export function rawHeader(fields: {
  roomNameSize?: number;
  operation: number;
  state?: number;
  payloadSize?: number | bigint;
}): Uint8Array {
  const header = new Uint8Array(32);
  header[0] = fields.roomNameSize ?? 0;
  header[1] = fields.operation;
  header[2] = fields.state ?? 0;
  new DataView(header.buffer).setBigUint64(24, BigInt(fields.payloadSize ?? 0));
  return header;
}

// Tests import it from here beside the raw frames they join.
export { concatBytes };

/** The status of a state-1 answer. */
export function statusOf(response: TcrpResponse): number {
  return response.status;
}

/** A state-0 frame with any bytes as room name and payload. */
export function requestFrame(
  operation: number,
  roomName: Uint8Array | string,
  payload: Uint8Array | string,
  state: number = State.REQUEST,
): Uint8Array {
  return encodeTcrpFrame({
    operation: operation as Operation,
    state: state as State,
    roomName: typeof roomName === "string" ? encodeUtf8(roomName) : roomName,
    payload: typeof payload === "string" ? encodeUtf8(payload) : payload,
  });
}

/** A client datagram built by hand: room, token, kind, body. */
export function rawDatagram(
  room: string,
  token: Uint8Array,
  kind: number,
  body: Uint8Array,
): Uint8Array {
  const roomBytes = encodeUtf8(room);
  return concatBytes(
    new Uint8Array([roomBytes.length, token.length]),
    roomBytes,
    token,
    new Uint8Array([kind]),
    body,
  );
}

/** A big-endian u32. */
export function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/** The server still answers a normal request. */
export async function assertServing(server: TestServer, what: string): Promise<void> {
  const rooms = await listRooms(server.tcpAddr);
  assert.ok(Array.isArray(rooms), `LIST_ROOMS after ${what}`);
}
