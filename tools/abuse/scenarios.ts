/** Every abuse scenario, in the order the suite runs them. */
import type { Scenario } from "./harness.ts";
import { badNames, halfHeader, oversizedSizeFields, slowloris } from "./tcp_scenarios.ts";
import { guessedTokens, junkFlood, roomFlood, stolenToken } from "./udp_scenarios.ts";
import { replayFloodFortyAddresses, replayFloodOneAddress } from "./replay_scenarios.ts";
import { hashFairness, hashMemory } from "./hash_scenarios.ts";
import { classJoins, idleSlots, joinFlood } from "./slot_scenarios.ts";
import { listFlood } from "./list_scenarios.ts";
import { lookalikeNames } from "./name_scenarios.ts";
import { forgedForSession, handshakeFlood, unknownSessions } from "./sealed_scenarios.ts";

/**
 * The suite: one server per scenario, each with the bystander room talking
 * throughout. The first eight are revision 1's; the rest measure revision 2
 * (docs: design revision 2) and several fail against a revision-1 server;
 * the last three are aimed at sealed sessions (issue 13). Every bystander is
 * sealed; the scenarios that speak the plain protocol run against a server
 * with --allow-plaintext (harness.ts).
 */
export const SCENARIOS: Scenario[] = [
  stolenToken,
  guessedTokens,
  junkFlood,
  oversizedSizeFields,
  slowloris,
  halfHeader,
  badNames,
  roomFlood,
  replayFloodOneAddress,
  replayFloodFortyAddresses,
  hashFairness,
  hashMemory,
  idleSlots,
  joinFlood,
  classJoins,
  listFlood,
  lookalikeNames,
  unknownSessions,
  forgedForSession,
  handshakeFlood,
];
