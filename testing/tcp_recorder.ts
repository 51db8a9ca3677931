/**
 * A TCP relay for end-to-end tests: clients connect to it instead of the
 * server, and it forwards both ways while it records every byte it receives,
 * per connection and direction (what the client sent, before any rewrite;
 * what the server sent). A test can rewrite bytes on the way (a modified
 * server, a man in the middle) and stop letting clients through for a while
 * (the server looks unreachable: each connection is closed at once).
 * close() ends every connection and awaits every loop, so the test
 * sanitizers find nothing open.
 */
import { concatBytes } from "../protocol/bytes.ts";
import type { HostPort } from "../protocol/host_port.ts";

/** Which way bytes are going. */
export type TcpDirection = "toServer" | "toClient";

/**
 * Changes the bytes of one read on their way: `offset` is where `chunk`
 * starts in that connection's stream in that direction. Returns what is
 * forwarded instead (the same array, changed or not).
 */
export type Rewrite = (direction: TcpDirection, chunk: Uint8Array, offset: number) => Uint8Array;

/** How the relay behaves. */
export interface TcpRecorderOptions {
  /** The real server's TCP endpoint. */
  target: HostPort;
  /** Changes bytes on their way (the recording keeps what was received). */
  rewrite?: Rewrite;
}

/** Everything one connection carried, as received, in order. */
export interface RecordedConnection {
  readonly toServer: Uint8Array[];
  readonly toClient: Uint8Array[];
}

/** One TCRP frame as it crossed, not validated (any operation, any state). */
export interface RawFrame {
  roomNameSize: number;
  operation: number;
  state: number;
  roomName: Uint8Array;
  payload: Uint8Array;
}

/** A running relay. */
export interface TcpRecorder {
  /** Where clients connect. */
  readonly addr: Deno.NetAddr;
  /** Every connection accepted so far (refused ones included), oldest first. */
  readonly connections: readonly RecordedConnection[];
  /**
   * While false, a new connection is accepted and closed at once, as if the
   * server were away (default true).
   */
  accepting: boolean;
  /** Each connection's bytes in `direction`, joined: one stream per connection. */
  streams(direction: TcpDirection): Uint8Array[];
  /** The whole TCRP frames of each connection's stream in `direction`. */
  frames(direction: TcpDirection): RawFrame[][];
  /** Stops accepting, closes every connection, awaits every loop. */
  close(): Promise<void>;
}

/**
 * Splits a TCRP byte stream into its whole frames (an unfinished last one is
 * left out). Reads the header's fields as they are, whatever their values.
 */
export function splitFrames(stream: Uint8Array): RawFrame[] {
  const frames: RawFrame[] = [];
  let at = 0;
  while (stream.length - at >= 32) {
    const view = new DataView(stream.buffer, stream.byteOffset + at, 32);
    const roomNameSize = stream[at]!;
    const payloadSize = Number(view.getBigUint64(24));
    const end = at + 32 + roomNameSize + payloadSize;
    if (end > stream.length) break;
    frames.push({
      roomNameSize,
      operation: stream[at + 1]!,
      state: stream[at + 2]!,
      roomName: stream.slice(at + 32, at + 32 + roomNameSize),
      payload: stream.slice(at + 32 + roomNameSize, end),
    });
    at = end;
  }
  return frames;
}

/** Closes a connection that may be closed already. */
function closeQuietly(conn: Deno.Conn | null): void {
  try {
    conn?.close();
  } catch {
    // already closed
  }
}

/** Starts relaying from a loopback port (any free one) to `options.target`. */
export function startTcpRecorder(options: TcpRecorderOptions): TcpRecorder {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections: RecordedConnection[] = [];
  const open = new Set<Deno.Conn>();
  const loops = new Set<Promise<void>>();
  let closed = false;

  /** Copies `from` to `to`, recording and rewriting; resolves at the end of `from`. */
  const pump = async (
    from: Deno.Conn,
    to: Deno.Conn,
    direction: TcpDirection,
    record: Uint8Array[],
  ) => {
    const buffer = new Uint8Array(16 * 1024);
    let offset = 0;
    try {
      while (true) {
        const n = await from.read(buffer);
        if (n === null) return;
        const chunk = buffer.slice(0, n);
        record.push(chunk.slice());
        const out = options.rewrite?.(direction, chunk, offset) ?? chunk;
        offset += n;
        let written = 0;
        while (written < out.length) written += await to.write(out.subarray(written));
      }
    } catch {
      // a reset, or the other side closed: the relay of this connection ends
    }
  };

  const relay = async (client: Deno.Conn) => {
    const record: RecordedConnection = { toServer: [], toClient: [] };
    connections.push(record);
    let server: Deno.Conn | null = null;
    const pumps: Promise<void>[] = [];
    try {
      if (!recorder.accepting) return;
      try {
        server = await Deno.connect({ ...options.target, transport: "tcp" });
      } catch {
        return; // the server is away: the client sees its connection closed
      }
      open.add(server);
      if (closed) return;
      pumps.push(
        pump(client, server, "toServer", record.toServer),
        pump(server, client, "toClient", record.toClient),
      );
      // Either end closing ends both, after what was read has been written.
      await Promise.race(pumps);
    } finally {
      for (const conn of [client, server]) {
        if (conn === null) continue;
        open.delete(conn);
        closeQuietly(conn);
      }
      await Promise.all(pumps); // the other pump's read fails on its closed connection
    }
  };

  const acceptLoop = (async () => {
    while (true) {
      let client: Deno.Conn;
      try {
        client = await listener.accept();
      } catch {
        return; // closed
      }
      if (closed) {
        closeQuietly(client);
        return;
      }
      open.add(client);
      const loop = relay(client).finally(() => loops.delete(loop));
      loops.add(loop);
    }
  })();

  const recorder: TcpRecorder = {
    addr: listener.addr as Deno.NetAddr,
    connections,
    accepting: true,
    streams: (direction) => connections.map((c) => concatBytes(...c[direction])),
    frames: (direction) => recorder.streams(direction).map(splitFrames),
    async close() {
      if (closed) return;
      closed = true;
      listener.close();
      await acceptLoop;
      for (const conn of open) closeQuietly(conn);
      while (loops.size > 0) await Promise.all([...loops]);
    },
  };
  return recorder;
}
