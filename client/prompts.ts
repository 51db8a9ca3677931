/**
 * The questions `chat join` asks on a terminal, only for what the flags left
 * out. Each answer is checked with the protocol's own rules before it is sent.
 */
import { input, password, select } from "@inquirer/prompts";
import { ProtocolError } from "../protocol/errors.ts";
import { validateRoomName, validateUsername } from "../protocol/names.ts";
import type { RoomSummary } from "../protocol/tcrp.ts";
import { sanitize } from "./format.ts";

function check(validate: (value: string) => string) {
  return (value: string): true | string => {
    try {
      validate(value);
      return true;
    } catch (error) {
      if (error instanceof ProtocolError) return error.message;
      throw error;
    }
  };
}

/** Asks for a username. */
export function askName(): Promise<string> {
  return input({ message: "Your name", validate: check(validateUsername) });
}

/** Asks whether to create a room or join one (join is offered only when rooms exist). */
export async function askCreateOrJoin(rooms: RoomSummary[]): Promise<boolean> {
  if (rooms.length === 0) return true;
  const choice = await select({
    message: "Create a room or join one?",
    choices: [
      { name: `Join a room (${rooms.length} open)`, value: "join" },
      { name: "Create a new room (you will be its host)", value: "create" },
    ],
  });
  return choice === "create";
}

/** Asks for the name of a new room. */
export function askNewRoom(): Promise<string> {
  return input({ message: "Name of the new room", validate: check(validateRoomName) });
}

const OTHER = "\u0000other";

/** True when a room is at its capacity (as far as its list entry says). */
export function isFull(room: RoomSummary): boolean {
  return room.capacity !== null && room.members >= room.capacity;
}

/** The picker's line for a room: its name, members of capacity, and a lock mark. */
export function roomChoiceLabel(room: RoomSummary): string {
  const members = room.capacity === null
    ? `${room.members} ${room.members === 1 ? "member" : "members"}`
    : `${room.members} of ${room.capacity} members`;
  return `${sanitize(room.name)}  (${members})${room.passwordProtected ? "  [locked]" : ""}`;
}

/**
 * Offers the room list (members, capacity, lock), or a typed name. A full
 * room is listed and marked full; the cursor can rest on it (so it is read
 * out like the rest) but Enter there only says it is full. The cursor
 * starts on the first room that is not.
 */
export async function askRoomToJoin(rooms: RoomSummary[]): Promise<string> {
  const choice = await select({
    message: "Which room?",
    default: rooms.find((room) => !isFull(room))?.name ?? OTHER,
    theme: { i18n: { disabledError: "That room is full; pick another." } },
    choices: [
      ...rooms.map((room) => ({
        name: roomChoiceLabel(room),
        value: room.name,
        disabled: isFull(room) ? "[full]" : false,
      })),
      { name: "Another room (type its name)", value: OTHER },
    ],
  });
  if (choice !== OTHER) return choice;
  return input({ message: "Room name", validate: check(validateRoomName) });
}

/** Asks for a password without echoing it. */
export function askPassword(message: string): Promise<string> {
  return password({ message, mask: "*" });
}

/**
 * Asks for a new room's password, and (unless it is empty: an open room)
 * for the same again, until both match, since a typo would lock everyone
 * out. `say` prints the mismatch notice.
 */
export async function askNewPassword(say: (line: string) => void): Promise<string> {
  while (true) {
    const first = await askPassword("Password (leave empty for an open room)");
    if (first === "") return first;
    if (await askPassword("The same password again") === first) return first;
    say("The two passwords differ; type it again.");
  }
}
