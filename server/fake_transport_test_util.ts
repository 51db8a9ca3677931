/**
 * The transport registry tests reach members through: like plain UDP, a
 * token acts from its bound IP address, any port, and nothing is ever busy.
 * Sending is the caller's business (the registry returns what to send).
 */
import type { EndpointTransport } from "./endpoint.ts";

/** A transport like plain UDP: a token acts from its IP, any port. */
export const ipBoundTransport: EndpointTransport = {
  name: "test",
  authenticates: (boundAddress, candidate) => candidate.address === boundAddress,
  movesTo: () => true,
  canSend: () => true,
  queue: () => {},
  flush: () => {},
};
