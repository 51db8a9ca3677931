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

/** Offers the room list (members, capacity, lock), or a typed name. */
export async function askRoomToJoin(rooms: RoomSummary[]): Promise<string> {
  const choice = await select({
    message: "Which room?",
    choices: [
      ...rooms.map((room) => ({
        name: `${sanitize(room.name)}  (${room.members}${
          room.capacity === null ? "" : ` of ${room.capacity}`
        } ${room.members === 1 && room.capacity === null ? "member" : "members"})${
          room.passwordProtected ? "  [locked]" : ""
        }`,
        value: room.name,
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
