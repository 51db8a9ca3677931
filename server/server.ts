/**
 * One chat server: the TCRP listener and the UDP socket, the handshake and
 * the registry behind them, the endpoint router that sends what the
 * registry decides, and a sweep that applies timeouts. Both sockets share
 * one event loop.
 *
 * @module
 */
import { nodeCrypto } from "../crypto/node_crypto.ts";
import { MAX_DATAGRAM_BYTES } from "../protocol/datagram.ts";
import { PROTOCOL_REVISION } from "../protocol/tcrp.ts";
import { type AbuseKind, AbuseLog, type AbuseReporter } from "./abuse_log.ts";
import { addressKey } from "./address_key.ts";
import { systemClocks } from "./clock.ts";
import { hashConcurrencyOf, REQUEST_BURST_FACTOR, type ServerConfig } from "./config.ts";
import { ConnectionGate } from "./connection_gate.ts";
import { EndpointRouter } from "./endpoint_router.ts";
import { Handshake } from "./handshake.ts";
import { HASH_WAIT_MS, HashQueue } from "./hash_queue.ts";
import { KeyedBudget } from "./keyed_budget.ts";
import { PasswordFailures } from "./password_failures.ts";
import { createLogger } from "./log.ts";
import { openDatagramSocket } from "./open_datagram_socket.ts";
import { KeyedRateLimiter } from "./rate_limit.ts";
import { DEFAULT_REGISTRY_LIMITS, RoomRegistry } from "./registry.ts";
import { SealedFrontEnd } from "./sealed/sealed_front.ts";
import { SealedUdpTransport } from "./sealed/sealed_transport.ts";
import { SealedSessions } from "./sealed/sessions.ts";
import { bindOrExplain, explainBindError } from "./startup_errors.ts";
import { TcrpFrontEnd } from "./tcp_front.ts";
import { UdpTransport } from "./udp_endpoints.ts";
import { UdpFrontEnd } from "./udp_front.ts";
import { WsFrontEnd } from "./ws/ws_front.ts";
import { startWebSide, type WebSide } from "./web_side.ts";
import {
  type CountingSocket,
  countingSocket,
  gatherMetrics,
  RefusalCounts,
} from "./metrics_snapshot.ts";

// Large kernel buffers ride out bursts at high rates (the kernel caps them at
// net.core.rmem_max / wmem_max).
const SOCKET_BUFFER_BYTES = 4 << 20;
/**
 * Room-list bytes per address: 256 KiB a second, bursts of 1 MiB, so the
 * whole list of a full server (1,000 rooms, about 60 KB) is always a burst
 * away, and LIST requests cannot turn a small request into a flood.
 */
export const LIST_BYTE_BUDGET = { ratePerSecond: 256 * 1024, burst: 1024 * 1024 } as const;
/** How long shutdown waits for buffered log lines to reach stderr. */
const SHUTDOWN_LOG_FLUSH_MS = 1_000;
/**
 * How soon replays left waiting by a flush (past its cap) get the next one
 * when no datagram arrives meanwhile (each received batch flushes too).
 */
const REPLAY_DRAIN_MS = 2;

import type { ChatServer, SealedHooks, ServerHooks } from "./server_types.ts";

export type {
  ChatServer,
  HttpHooks,
  SealedHooks,
  SealedServer,
  ServerHooks,
} from "./server_types.ts";

/**
 * Binds both sockets and starts serving. `config.host` should be an address
 * (see `resolveHost`); a socket that cannot be bound throws a `StartupError`.
 */
export function startChatServer(
  config: ServerConfig,
  hooks: ServerHooks = {},
): ChatServer {
  const clocks = hooks.clocks ?? systemClocks;
  const monotonic = clocks.monotonic;
  const log = hooks.log ?? createLogger(config.logLevel);
  const abuse = new AbuseLog({
    clock: monotonic,
    write: log.warn,
    intervalMs: config.abuseLogIntervalSeconds * 1000,
  });
  // Every report is also counted by kind, for the metrics' drops.
  const abuseCounts: Partial<Record<AbuseKind, number>> = {};
  const report: AbuseReporter = (kind, address, detail) => {
    abuseCounts[kind] = (abuseCounts[kind] ?? 0) + 1;
    abuse.report(kind, address, detail);
  };
  const refusals = new RefusalCounts();
  const sealed = hooks.sealed ?? inMemorySealedKeys();
  // Made once the handshake exists; the session table, the registry and the
  // sealed front end call it.
  // deno-lint-ignore prefer-const
  let ws: WsFrontEnd;
  const crypto = sealed.crypto;
  // The sealed handshake's issuer, and the table of sealed datagram sessions.
  const sessions = new SealedSessions({
    crypto,
    staticPrivateKey: sealed.staticKey.privateKey,
    ...(sealed.signer ? { signer: sealed.signer } : {}),
    monotonic,
    // A takeover's old session: its socket, if a WebSocket's, closes 4409.
    onReplaced: (old) => ws.sessionReplaced(old),
  });
  // Set once the router exists; the registry calls it when a member starts holding messages.
  let startReleasing = () => {};
  const registry = new RoomRegistry({
    clocks,
    maxRooms: config.maxRooms,
    maxMembers: config.maxMembers,
    maxRoomsPerIp: config.maxRoomsPerIp,
    maxMembersPerIp: config.maxMembersPerIp,
    maxMembersPerRoom: config.maxMembersPerRoom,
    onAbuse: report,
    idleTimeoutMs: config.idleTimeoutSeconds * 1000,
    heartbeatMs: config.heartbeatSeconds * 1000,
    helloTimeoutMs: hooks.helloTimeoutMs ?? DEFAULT_REGISTRY_LIMITS.helloTimeoutMs,
    rateLimit: config.rateLimit,
    messageWindow: config.messageWindow,
    messageWindowBytes: config.messageWindowBytes,
    gapTimeoutMs: config.gapTimeoutSeconds * 1000,
    maxHeldMessages: config.maxHeldMessages,
    onHolding: () => startReleasing(),
    // A sealed member's session goes with it, and its room rekeys; a WebSocket
    // member's socket closes once its CLOSED is out.
    onRemoved: (member) => {
      const session = sessions.byTokenKey(member.tokenKey);
      if (session !== undefined) ws.sessionEnded(session);
      sessions.onRemoved(member);
      hooks.onRemoved?.(member);
    },
    historyLimit: DEFAULT_REGISTRY_LIMITS.historyLimit,
    historyBytes: config.historyBytes,
  }, log.info);
  const listener = bindOrExplain(
    { protocol: "TCP", hostname: config.host, port: config.port },
    () => Deno.listen({ hostname: config.host, port: config.port, transport: "tcp" }),
  );
  let datagrams: CountingSocket;
  try {
    datagrams = countingSocket(openDatagramSocket(config.udpIo, {
      hostname: config.host,
      port: config.udpPort,
      // The real length of a longer datagram still shows, so it is refused (413).
      slotBytes: MAX_DATAGRAM_BYTES,
      receiveBufferBytes: SOCKET_BUFFER_BYTES,
      sendBufferBytes: SOCKET_BUFFER_BYTES,
    }));
  } catch (error) {
    listener.close();
    throw explainBindError(error, { protocol: "UDP", hostname: config.host, port: config.udpPort });
  }
  const tcpAddr = listener.addr as Deno.NetAddr;
  const udpAddr = datagrams.addr;
  const keyOf = (ip: string) => addressKey(ip, { ipv6PrefixLength: config.ipv6PrefixLength });
  let closing = false;
  let drainTimer: ReturnType<typeof setTimeout> | undefined;
  const router: EndpointRouter = new EndpointRouter({
    // A body the registry should never have produced: drop it, keep serving.
    onEncodeError: (body, error) =>
      log.error(`encode ${body.kind}: ${(error as Error).stack ?? error}`),
    replayRate: config.replayRate,
    monotonic,
    onBacklog: () => {
      if (closing || drainTimer !== undefined) return;
      drainTimer = setTimeout(() => {
        drainTimer = undefined;
        router.flush();
      }, REPLAY_DRAIN_MS);
    },
  });
  // What strangers get back, per address: plain ERRORs, and (a budget apart) stateless resets.
  const strangerLimiter = () =>
    new KeyedRateLimiter({
      ratePerSecond: config.unauthenticatedRate,
      burst: config.unauthenticatedRate * 2,
      clock: monotonic,
      // A spoofed-source flood must not grow this map without bound; past it, new
      // addresses are treated as over the limit (dropped), which only costs strangers.
      maxKeys: 10_000,
    });
  const strangers = strangerLimiter();
  const sealedTransport = new SealedUdpTransport({
    socket: datagrams,
    crypto,
    signer: sessions.signer,
    addressKeyOf: keyOf,
    monotonic,
    ...(hooks.onSeal ? { onSeal: hooks.onSeal } : {}),
  });
  const resets = strangerLimiter();
  const sealedFront = new SealedFrontEnd({
    sessions,
    transport: sealedTransport,
    registry,
    resets,
    monotonic,
    report,
    onLinkMoved: (session, from, to) => ws.linkMoved(session, from, to),
  });
  const udp = new UdpFrontEnd(datagrams, {
    registry,
    transport: new UdpTransport(datagrams, keyOf),
    router,
    log,
    strangers,
    report,
    clocks,
    sealed: sealedFront,
    plain: config.allowPlaintext,
  });
  const requestLimiter = new KeyedRateLimiter({
    ratePerSecond: config.requestRateLimit,
    burst: config.requestRateLimit * REQUEST_BURST_FACTOR,
    clock: monotonic,
  });
  const passwordFailures = new PasswordFailures({ clock: monotonic });
  const listBudget = new KeyedBudget({ ...LIST_BYTE_BUDGET, clock: monotonic });
  // The sealed answer carries the public half of the key that signs room datagrams.
  const sealedKeys = { staticKey: sealed.staticKey, crypto, signingKey: sessions.signingKey };
  const handshake = new Handshake({
    registry,
    send: (outgoing) => router.send(outgoing),
    accepted: {
      status: 200,
      udpPort: config.advertisedUdpPort || udpAddr.port,
      maxDatagramBytes: MAX_DATAGRAM_BYTES,
      heartbeatSeconds: config.heartbeatSeconds,
      idleTimeoutSeconds: config.idleTimeoutSeconds,
      protocol: PROTOCOL_REVISION,
      messageRate: config.rateLimit,
      messageBurst: config.rateLimit * 2,
      messageWindow: config.messageWindow,
      messageWindowBytes: config.messageWindowBytes,
      gapTimeoutSeconds: config.gapTimeoutSeconds,
    },
    gate: new ConnectionGate({
      maxPerIp: config.maxHandshakesPerIp,
      maxTotal: config.maxHandshakes,
    }),
    requestLimiter,
    hashQueue: new HashQueue({
      concurrency: hashConcurrencyOf(config.hashConcurrency),
      monotonic,
      maxWaitMs: HASH_WAIT_MS,
    }),
    passwordFailures,
    listBudget,
    report,
    log,
    ...(hooks.passwords ? { passwords: hooks.passwords } : {}),
    allowPlaintext: config.allowPlaintext,
    // A sealed admission opens its datagram session here (sealed/sessions.ts).
    sessions,
  });
  const tcp = new TcrpFrontEnd(listener, {
    handshake,
    addressKeyOf: keyOf,
    log,
    clocks,
    maxPayloadBytes: config.maxPayloadBytes,
    requestTimeoutMs: config.requestTimeoutSeconds * 1000,
    exchangeTimeoutMs: config.handshakeTimeoutSeconds * 1000,
    report,
    sealed: sealedKeys,
    onRefused: refusals.count,
  });
  ws = new WsFrontEnd({
    handshake,
    keys: sealedKeys,
    sessions,
    front: sealedFront,
    transport: sealedTransport,
    router,
    registry,
    report,
    log,
    monotonic,
    maxPayloadBytes: config.maxPayloadBytes,
    requestTimeoutMs: config.requestTimeoutSeconds * 1000,
    exchangeTimeoutMs: config.handshakeTimeoutSeconds * 1000,
    graceMs: config.wsGraceSeconds * 1000,
    onRefused: refusals.count,
    limits: {
      softBytes: config.wsBufferSoft,
      hardBytes: config.wsBufferHard,
      ...(hooks.http?.slowReaderMs !== undefined ? { slowReaderMs: hooks.http.slowReaderMs } : {}),
    },
  });
  let web: WebSide;
  try {
    web = startWebSide({
      config,
      hooks: hooks.http ?? {},
      ws,
      serverKey: sealed.staticKey.publicKey,
      addressKeyOf: keyOf,
      log,
      monotonic,
      metrics: (lag, http) =>
        gatherMetrics({
          registry,
          sessions,
          front: sealedFront,
          transport: sealedTransport,
          router,
          socket: datagrams,
          ws,
          abuseCounts,
          refusals,
          lag,
          http,
        }),
    });
  } catch (error) {
    listener.close();
    void datagrams.close();
    throw error;
  }
  const httpAddr = web.http?.addr ?? null;
  let stopping: Promise<void> | null = null;
  let fail: (error: Error) => void = () => {};
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  const serveUntilClosed = (name: string, serve: () => Promise<void>) =>
    serve().then(
      () => {
        if (stopping === null) fail(new Error(`the ${name} front end stopped unexpectedly`));
      },
      (error) => {
        log.error(`${name} front end failed: ${error?.stack ?? error}`);
        fail(error instanceof Error ? error : new Error(String(error)));
      },
    );
  const serving = Promise.all([
    serveUntilClosed("TCRP", () => tcp.serve()),
    serveUntilClosed("UDP", () => udp.serve()),
  ]);
  // One sweep for every member's timeouts, instead of a timer per member.
  const sweepMs = Math.min(500, (config.heartbeatSeconds * 1000) / 4);
  const sweep = setInterval(() => {
    router.send(registry.tick());
    requestLimiter.sweep();
    passwordFailures.sweep();
    listBudget.sweep();
    strangers.sweep();
    resets.sweep();
    sealedFront.sweep();
    ws.sweep();
    abuse.sweep();
  }, sweepMs);
  // Revision 2: while any member holds messages, release them as its rate
  // allows (one token every 1000/rate ms) and skip gaps that timed out.
  const releaseMs = config.rateLimit > 0 ? Math.max(5, Math.floor(1000 / config.rateLimit)) : 100;
  let release: ReturnType<typeof setInterval> | undefined;
  startReleasing = () => {
    if (release !== undefined || stopping !== null) return;
    release = setInterval(() => {
      router.send(registry.releaseDue());
      if (registry.holdingMembers === 0) {
        clearInterval(release);
        release = undefined;
      }
    }, releaseMs);
  };
  log.info(
    `chat server listening: TCRP on tcp ${tcpAddr.hostname}:${tcpAddr.port}, ` +
      `chat datagrams on udp ${udpAddr.hostname}:${udpAddr.port} (${datagrams.kind} i/o)` +
      (httpAddr === null
        ? ""
        : `, the page and WebSockets on ${hooks.http?.tls ? "https" : "http"} ` +
          `${httpAddr.hostname}:${httpAddr.port}`),
  );

  const shutdown = () => {
    stopping ??= (async () => {
      // Replays still waiting are dropped: every member is being told CLOSED.
      closing = true;
      clearTimeout(drainTimer);
      clearInterval(sweep);
      clearInterval(release);
      // CLOSED 4 to every member, WebSocket ones too (flushed to their sockets),
      // then every socket closes 1001.
      ws.beginShutdown();
      router.send(registry.shutdown());
      await ws.close();
      // Then the HTTP listener (and any connection still open) closes.
      await web.close();
      sealedTransport.close();
      await tcp.close();
      await udp.close();
      await serving;
      abuse.flush();
      log.info("chat server stopped");
      // Stderr may be a pipe nobody reads: wait for the log a bounded time only.
      await log.flush?.(SHUTDOWN_LOG_FLUSH_MS);
    })();
    return stopping;
  };
  return {
    tcpAddr,
    udpAddr,
    httpAddr,
    http: web.http,
    metricsAddr: web.metricsListener?.addr ?? null,
    metrics: web.metrics,
    udpIo: datagrams.kind,
    registry,
    staticPublicKey: sealed.staticKey.publicKey,
    sealed: { sessions, front: sealedFront, transport: sealedTransport },
    ws,
    shutdown,
    failed,
  };
}

/** Keys for a server started without any: they last as long as the process. */
function inMemorySealedKeys(): SealedHooks {
  return { staticKey: nodeCrypto.x25519KeyPair(), crypto: nodeCrypto };
}
