/**
 * Line mode: the chat on a terminal that cannot hold the full screen
 * (`TERM=dumb`, a tiny window): history first, then live lines printed above
 * the input line with node:readline.
 */
import * as readline from "node:readline";
import process from "node:process";
import { CloseReason } from "../protocol/datagram.ts";
import { formatEvent, membersLine } from "./format.ts";
import type { ChatSession } from "./session.ts";

const HINT = "* Type /help for commands.";
const HELP = [
  "Commands:",
  "  /help      this list",
  "  /members   who is in the room",
  "  /leave     leave the room (also: exit!, Ctrl+C, Ctrl+D)",
  "  //text     send a message that starts with /",
].join("\n");

/**
 * Runs line mode until the session closes; resolves with the exit code (0,
 * or 1 when the connection was lost).
 */
export async function runLineMode(
  session: ChatSession,
  options: { color: boolean },
): Promise<number> {
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    prompt: `${session.username}> `,
    terminal: true,
  });
  // After Ctrl+D the input is closed and must not be prompted again (it throws).
  let inputClosed = false;
  rl.on("close", () => (inputClosed = true));
  // Prints above the prompt and redraws it with the half-typed line intact.
  const print = (text: string) => {
    readline.clearLine(process.stdout, 0);
    readline.cursorTo(process.stdout, 0);
    process.stdout.write(text + "\n");
    if (!inputClosed) rl.prompt(true);
  };
  const leave = () => void session.leave();
  rl.on("SIGINT", leave);
  rl.on("close", leave);
  rl.on("line", (line: string) => {
    const text = line.trimEnd();
    if (text === "exit!" || text === "/leave") return leave();
    if (text === "/help") return print(HELP);
    if (text === "/members") {
      return print(membersLine(session.members, session.host));
    }
    if (text.startsWith("/") && !text.startsWith("//")) {
      return print(`unknown command ${text.split(" ")[0]}; /help lists them`);
    }
    if (text.length === 0) return rl.prompt();
    // The typed line is replaced by the server's echo, which shows it was relayed.
    readline.moveCursor(process.stdout, 0, -1);
    readline.clearLine(process.stdout, 0);
    try {
      session.send(text.startsWith("//") ? text.slice(1) : text);
    } catch (error) {
      print(`! not sent: ${(error as Error).message}`);
    }
    rl.prompt();
  });
  rl.prompt();
  let code = 0;
  for await (const event of session) {
    if (event.type === "closed" && (event.reason === "lost" || event.reason === CloseReason.LOST)) {
      code = 1;
    }
    const line = formatEvent(event, { color: options.color });
    if (line !== null) print(line);
    if (event.type === "welcome" && !event.rejoined) {
      print(options.color ? `\x1b[2m${HINT}\x1b[0m` : HINT);
    }
    if (
      event.type === "closed" && event.reason === CloseReason.LEFT &&
      session.host === session.username
    ) {
      print(formatEvent({ ...event, reason: CloseReason.HOST_LEFT }, { color: options.color })!);
    }
  }
  rl.removeListener("close", leave);
  readline.clearLine(process.stdout, 0);
  readline.cursorTo(process.stdout, 0);
  rl.close();
  return code;
}
