/**
 * What every chaos suite shares: the suite's server key, a crypto provider
 * for its members that records every seal (the nonce audit), the audited
 * server processes it starts, and the checks the audit makes at the end.
 */
import { nodeCrypto } from "../../crypto/node_crypto.ts";
import { decodeSealedClientBody } from "../../protocol/sealed_datagram.ts";
import type { CryptoProvider, X25519KeyPair } from "../../protocol/sealed_types.ts";
import { AuditedServer } from "./audited_server.ts";
import { ChaosMember, type ChaosMemberOptions } from "./member.ts";
import { auditingCrypto, describeAudit, NonceAudit } from "./nonce_audit.ts";

/** One suite's server key, audit, servers and members' crypto. */
export class ChaosRig {
  /** This suite's audit (it passes every record on to the run's, when given). */
  readonly audit: NonceAudit;
  /** The static key every server of the suite proves. */
  readonly serverKey: X25519KeyPair = nodeCrypto.x25519KeyPair();
  /** The members' provider: node:crypto, every seal recorded. */
  readonly crypto: CryptoProvider;
  readonly servers: AuditedServer[] = [];
  /** Member datagrams the clients sealed, by inner kind ("message", "resend", ...). */
  readonly clientSends = new Map<string, number>();

  /** A rig whose audit reports to `runAudit` as well. */
  constructor(runAudit?: NonceAudit) {
    this.audit = new NonceAudit(runAudit);
    this.crypto = auditingCrypto(nodeCrypto, (kind, key, nonce, plaintext) => {
      this.audit.record("client", kind, key, nonce);
      if (kind === "member") {
        const inner = decodeSealedClientBody(plaintext).kind;
        this.clientSends.set(inner, (this.clientSends.get(inner) ?? 0) + 1);
      }
    });
  }

  /** Starts an audited server with `chat serve` flags `args` and the suite's key. */
  async server(args: string[]): Promise<AuditedServer> {
    const server = await AuditedServer.start(args, this.serverKey.privateKey, this.audit);
    this.servers.push(server);
    return server;
  }

  /** A sealed member that trusts the suite's key only and seals through the audit. */
  member(options: Omit<ChaosMemberOptions, "crypto" | "serverKey">): Promise<ChaosMember> {
    return ChaosMember.open({
      ...options,
      crypto: this.crypto,
      serverKey: this.serverKey.publicKey,
    });
  }

  /** Client member datagrams of one inner kind. */
  sent(kind: string): number {
    return this.clientSends.get(kind) ?? 0;
  }

  /**
   * The audit's checks, once every server is stopped: no (key, nonce) pair
   * repeated, and each server's onSeal hook reported exactly the datagram
   * seals its provider saw.
   */
  auditFailures(): string[] {
    const failures: string[] = [];
    const figures = this.audit.figures;
    if (figures.repeats > 0) failures.push(`${figures.repeats} (key, nonce) pairs sealed twice`);
    if (figures.seals.client.member === 0 || figures.seals.server.room === 0) {
      failures.push("the nonce audit saw no client or no room seals");
    }
    for (const server of this.servers) {
      if (!server.hookAgrees) {
        failures.push(
          `the server's onSeal reported ${server.hookReports} datagram seals, its provider ` +
            `made ${server.datagramSeals}`,
        );
      }
    }
    return failures;
  }

  /** The audit line for a suite's notes. */
  describeAudit(): string {
    return describeAudit(this.audit.figures);
  }

  /** Stops every server still running. */
  async dispose(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.dispose()));
  }
}
