/** Every abuse scenario, in the order the suite runs them. */
import type { Scenario } from "./harness.ts";
import { badNames, halfHeader, oversizedSizeFields, slowloris } from "./tcp_scenarios.ts";
import { guessedTokens, junkFlood, roomFlood, stolenToken } from "./udp_scenarios.ts";

/** The suite: one server per scenario, each with the bystander room talking throughout. */
export const SCENARIOS: Scenario[] = [
  stolenToken,
  guessedTokens,
  junkFlood,
  oversizedSizeFields,
  slowloris,
  halfHeader,
  badNames,
  roomFlood,
];
