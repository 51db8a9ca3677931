/**
 * Lookalike names (revision 2, "Names"): usernames and room names that would
 * show as someone else's or as another room are refused with the documented
 * codes (400 naming the code point as U+XXXX, or mixed scripts; 409 for a
 * name confusable with one in use), while real names in other scripts, with
 * emoji or a ZWNJ where RFC 5892 allows it, still get in.
 */
import { requestFrom, roomFrame } from "./from_address.ts";
import type { AbuseOutcome, Scenario, Target } from "./harness.ts";
import { source } from "./sources.ts";

interface NameCase {
  what: string;
  op: "create" | "join";
  room: string;
  username: string;
  /** The status it must get. */
  status: number;
  /** Text the refusal's error must contain (the code point it names). */
  mentions?: string;
}

const CASES: NameCase[] = [
  {
    what: "alice + U+200B",
    op: "join",
    room: "names",
    username: "alice\u200b",
    status: 400,
    mentions: "U+200B",
  },
  {
    what: 'Cyrillic "аlice" (mixed scripts)',
    op: "join",
    room: "names",
    username: "\u0430lice",
    status: 400,
  },
  {
    what: "U+202E in a username",
    op: "join",
    room: "names",
    username: "\u202eecila",
    status: 400,
    mentions: "U+202E",
  },
  {
    what: "a username of only invisible characters",
    op: "join",
    room: "names",
    username: "\u200b\u2060",
    status: 400,
  },
  { what: "a username of U+2800 only", op: "join", room: "names", username: "\u2800", status: 400 },
  {
    what: '"асе" (all Cyrillic) beside "ace"',
    op: "join",
    room: "names",
    username: "\u0430\u0441\u0435",
    status: 409,
  },
  { what: '"ACE" beside "ace"', op: "join", room: "names", username: "ACE", status: 409 },
  {
    what: '"lobby" + U+200B',
    op: "create",
    room: "lobby\u200b",
    username: "h",
    status: 400,
    mentions: "U+200B",
  },
  {
    what: '"lоbby" with a Cyrillic о (mixed scripts)',
    op: "create",
    room: "l\u043ebby",
    username: "h",
    status: 400,
  },
  { what: '"Lobby" beside "lobby"', op: "create", room: "Lobby", username: "h", status: 409 },
  {
    what: '"сор" (all Cyrillic) beside "cop"',
    op: "create",
    room: "\u0441\u043e\u0440",
    username: "h",
    status: 409,
  },
];

/** Real names that must still be accepted. */
const CONTROLS: NameCase[] = [
  { what: "Борис", op: "join", room: "names", username: "Борис", status: 200 },
  { what: "Zoë", op: "join", room: "names", username: "Zoë", status: 200 },
  { what: "a ZWJ emoji sequence", op: "join", room: "names", username: "👩‍💻", status: 200 },
  {
    what: "Persian with a ZWNJ",
    op: "join",
    room: "names",
    username: "می\u200cخواهم",
    status: 200,
  },
  { what: "a room named Ελληνικά", op: "create", room: "Ελληνικά", username: "h", status: 200 },
];

/** Every lookalike refused with its code; every control accepted. */
export const lookalikeNames: Scenario = {
  name: "lookalike names",
  // Revision 2 may or may not count a refused name as abuse; the codes are the point.
  expectedKinds: [],
  serverArgs: [],
  async run(target: Target): Promise<AbuseOutcome> {
    const from = source(0);
    const ask = (c: Pick<NameCase, "op" | "room" | "username">) =>
      requestFrom(target.tcpAddr, roomFrame(c.op, c.room, { username: c.username }), from);
    for (const [room, username] of [["names", "ace"], ["lobby", "h"], ["cop", "h"]]) {
      const answer = await ask({ op: "create", room: room!, username: username! });
      if (answer.status !== 200) throw new Error(`setup: ${room}: ${JSON.stringify(answer.json)}`);
    }
    const failures: string[] = [];
    let refused = 0;
    let accepted = 0;
    for (const c of [...CASES, ...CONTROLS]) {
      const answer = await ask(c);
      const error = typeof answer.json?.error === "string" ? answer.json.error : "";
      if (answer.status === c.status && c.status !== 200) refused++;
      if (answer.status === c.status && c.status === 200) accepted++;
      if (answer.status !== c.status) {
        failures.push(`${c.what}: ${answer.status} (${error || "no error"}), not ${c.status}`);
      } else if (c.mentions !== undefined && !error.includes(c.mentions)) {
        failures.push(`${c.what}: the error does not name ${c.mentions}: ${error}`);
      }
    }
    return {
      sends: `${CASES.length} lookalike usernames and room names, ${CONTROLS.length} real ones`,
      failures,
      notes: [
        `lookalikes refused with the documented code: ${refused} of ${CASES.length}; ` +
        `real names accepted: ${accepted} of ${CONTROLS.length}`,
      ],
    };
  },
};
