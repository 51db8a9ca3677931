/**
 * A TCRP exchange from a chosen local address (127.0.0.2, say): Deno.connect
 * cannot bind a local address, node:net can, so per-address limits can be tested
 * from a second source address on loopback.
 */
import net from "node:net";
import { TcrpFrameParser } from "../protocol/tcrp.ts";
import type { TcrpExchange } from "./raw_client.ts";

/**
 * Connects from `localAddress`, writes `bytes`, and reads frames until the
 * server closes the connection or `timeoutMs` passes.
 */
export function tcrpRequestFrom(
  addr: Deno.NetAddr,
  bytes: Uint8Array,
  localAddress: string,
  timeoutMs = 2000,
): Promise<TcrpExchange> {
  const parser = new TcrpFrameParser({ maxPayloadBytes: 1024 * 1024 });
  const frames: TcrpExchange["frames"] = [];
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: addr.hostname, port: addr.port, localAddress });
    let settled = false;
    const finish = (closedByServer: boolean, error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error && !closedByServer) reject(error);
      else resolve({ frames, closedByServer, leftoverBytes: parser.pendingBytes });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("connect", () => {
      if (bytes.length > 0) socket.write(bytes);
    });
    socket.on("data", (chunk: Uint8Array) => frames.push(...parser.push(new Uint8Array(chunk))));
    socket.on("end", () => finish(true));
    socket.on("error", (error: Error & { code?: string }) => {
      finish(error.code === "ECONNRESET", error);
    });
  });
}
