/**
 * `chat rooms` for people: the room table, aligned by display width (a
 * Japanese character or an emoji takes two terminal cells), and the hint
 * for an empty server, naming the command the reader actually runs.
 */
import stringWidth from "fast-string-width";
import type { RoomSummary } from "../protocol/tcrp.ts";
import { sanitize } from "./format.ts";

/**
 * Cells a string takes on a terminal. U+FE0F (emoji presentation) is left
 * out: terminals and tmux draw most such emoji in one cell, where width
 * tables count two, and a table must not be off by one.
 */
export function displayWidth(text: string): number {
  return stringWidth(text.replaceAll("\uFE0F", ""));
}

function pad(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - displayWidth(text)));
}

/**
 * The table's lines: ROOM, MEMBERS (n, or n/capacity), LOCKED, and SEALED
 * (the room's mode: sealed sessions only, or plain ones only; "-" from a
 * server too old to say).
 */
export function roomTable(rooms: readonly RoomSummary[]): string[] {
  const rows = rooms.map((room) => [
    sanitize(room.name).replaceAll("\uFE0F", ""),
    room.capacity === null ? `${room.members}` : `${room.members}/${room.capacity}`,
    room.passwordProtected ? "yes" : "no",
    room.sealed === undefined ? "-" : room.sealed ? "yes" : "no",
  ]);
  const header = ["ROOM", "MEMBERS", "LOCKED", "SEALED"];
  const widths = header.map((title, i) =>
    Math.max(displayWidth(title), ...rows.map((row) => displayWidth(row[i]!)))
  );
  return [header, ...rows].map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : pad(cell, widths[i]!))).join("  ")
  );
}

/** How the program was started, for naming its commands. */
export interface Invocation {
  /** `Deno.execPath()`: `deno` itself, or a compiled `chat`. */
  execPath: string;
  /** `npm_config_user_agent`, which `deno task` sets to `deno/<version> ...`. */
  userAgent: string | undefined;
  /** `Deno.mainModule`, for `deno run main.ts`. */
  mainModule: string;
  /** The working directory, to name main.ts relative to it. */
  cwd: string;
}

/**
 * The command that creates a room, as the reader would type it: `chat join`
 * from a compiled executable (by its own name), `deno task join` under
 * `deno task` (which sets npm_config_user_agent to `deno/...`, as npm does
 * for its scripts), and otherwise `deno run` with the join task's
 * permissions and main.ts's path.
 */
export function createCommand(how: Invocation): string {
  const args = "join --create --room NAME";
  const exe = how.execPath.split(/[\\/]/).pop() ?? "";
  if (!/^deno(\.exe)?$/i.test(exe)) return `${exe.replace(/\.exe$/i, "")} ${args}`;
  if (how.userAgent?.startsWith("deno/")) return `deno task ${args}`;
  let main = how.mainModule;
  if (main.startsWith("file://")) {
    const path = decodeURIComponent(new URL(main).pathname);
    const base = how.cwd.endsWith("/") ? how.cwd : `${how.cwd}/`;
    main = path.startsWith(base) ? path.slice(base.length) : path;
  }
  return `deno run --allow-net --allow-env --allow-read --allow-write ${main} ${args}`;
}

/** The line `chat rooms` prints when there are none. */
export function noRoomsHint(how: Invocation): string {
  return `No rooms yet. Create one with: ${createCommand(how)}`;
}
