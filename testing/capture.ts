/**
 * What the capture tests need besides the TCP relay (testing/tcp_recorder.ts):
 * a UDP relay that records every datagram both ways (tools/fault_proxy.ts
 * with nothing dropped), a free UDP port to start a server on, and a search
 * for a text in captured bytes in the encodings a program would put it on the
 * wire in.
 */
import type { HostPort } from "../protocol/host_port.ts";
import { type Direction, type FaultProxy, startFaultProxy } from "../tools/fault_proxy.ts";

/** One datagram the UDP relay passed on. */
export interface RecordedDatagram {
  direction: Direction;
  bytes: Uint8Array;
}

/** A running UDP relay and what it has passed on so far. */
export interface UdpRecorder {
  proxy: FaultProxy;
  datagrams: RecordedDatagram[];
}

/** Relays datagrams between clients and `target`, recording each one, dropping none. */
export function startUdpRecorder(target: HostPort): UdpRecorder {
  const datagrams: RecordedDatagram[] = [];
  const proxy = startFaultProxy({
    target,
    shouldDrop: (direction, bytes) => {
      datagrams.push({ direction, bytes: bytes.slice() });
      return false;
    },
  });
  return { proxy, datagrams };
}

/**
 * A loopback UDP port that was free a moment ago (bound, read, closed): for
 * a server that must be started on a port known in advance. Another process
 * may take it meanwhile; callers retry.
 */
export function freeUdpPort(): number {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const port = (socket.addr as Deno.NetAddr).port;
  socket.close();
  return port;
}

/** `text` as UTF-8, UTF-16LE and UTF-16BE bytes. */
export function encodingsOf(text: string): { encoding: string; bytes: Uint8Array }[] {
  const le = new Uint8Array(text.length * 2);
  const be = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    le[2 * i] = unit & 0xff;
    le[2 * i + 1] = unit >> 8;
    be[2 * i] = unit >> 8;
    be[2 * i + 1] = unit & 0xff;
  }
  return [
    { encoding: "UTF-8", bytes: new TextEncoder().encode(text) },
    { encoding: "UTF-16LE", bytes: le },
    { encoding: "UTF-16BE", bytes: be },
  ];
}

/** Where `needle` starts in `haystack`, or -1. */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  if (needle.length === 0) return 0;
  const first = needle[0]!;
  const last = haystack.length - needle.length;
  outer: for (
    let at = haystack.indexOf(first);
    at !== -1 && at <= last;
    at = haystack.indexOf(first, at + 1)
  ) {
    for (let i = 1; i < needle.length; i++) {
      if (haystack[at + i] !== needle[i]) continue outer;
    }
    return at;
  }
  return -1;
}

/**
 * Every place one of `texts` shows in `captures` (named pieces of captured
 * bytes), in any of its encodings: "TEXT (UTF-16LE) in NAME at OFFSET".
 */
export function findTexts(
  texts: readonly string[],
  captures: readonly { name: string; bytes: Uint8Array }[],
): string[] {
  const found: string[] = [];
  for (const text of texts) {
    for (const { encoding, bytes } of encodingsOf(text)) {
      for (const capture of captures) {
        const at = indexOfBytes(capture.bytes, bytes);
        if (at !== -1) {
          found.push(`${JSON.stringify(text)} (${encoding}) in ${capture.name} at ${at}`);
        }
      }
    }
  }
  return found;
}
