/**
 * An in-process chat screen for tests: a {@linkcode ChatView} over a fake
 * session, drawing into a {@linkcode VirtualTerminal} (`@xterm/headless`),
 * with frames drawn when the test says (`draw()`), as a tick would.
 */
import { VirtualTerminal } from "../../testing/virtual_terminal.ts";
import type { SessionEvent } from "../session_options.ts";
import { ChatView, type ScreenSession } from "./chat_view.ts";
import { KeyParser } from "./keys.ts";
import { ChatScreen } from "./screen.ts";

/** A session that records what the screen does with it. */
export class FakeSession implements ScreenSession {
  username = "ann";
  room = "general";
  host = "ann";
  members = ["ann"];
  sent: string[] = [];
  leaves = 0;

  send(text: string): number {
    this.sent.push(text);
    return this.sent.length;
  }

  leave(): Promise<void> {
    this.leaves++;
    return Promise.resolve();
  }
}

/** A 2026-12-02 local time at hh:mm. */
export function at(hours: number, minutes: number, day = 2): Date {
  return new Date(2026, 11, day, hours, minutes);
}

/** The screen, its terminal, its session, and ways to drive them. */
export class ScreenHarness {
  readonly vt: VirtualTerminal;
  readonly session = new FakeSession();
  readonly screen: ChatScreen;
  readonly view: ChatView;
  /** Everything written, in order. */
  readonly writes: string[] = [];
  now = 0;
  #queue: (() => void)[] = [];
  #parser = new KeyParser();
  #seq = 0;

  constructor(
    cols = 80,
    rows = 20,
    options: { color?: boolean; bell?: boolean; members?: string[]; host?: string } = {},
  ) {
    this.vt = new VirtualTerminal(cols, rows);
    this.session.members = options.members ?? ["ann"];
    this.session.host = options.host ?? "ann";
    this.screen = new ChatScreen({
      write: (text) => {
        this.writes.push(text);
        this.vt.write(text);
      },
      cols,
      rows,
      color: options.color ?? false,
      defer: (fn) => this.#queue.push(fn),
    });
    this.view = new ChatView({
      session: this.session,
      screen: this.screen,
      bell: options.bell,
      now: () => this.now,
      today: () => at(12, 0),
    });
    this.screen.start();
    this.draw();
  }

  /** Runs the frames asked for since the last call (a tick). */
  draw(): void {
    while (this.#queue.length > 0) this.#queue.shift()!();
  }

  /** Types raw terminal input (keys, escape sequences, pastes), then draws. */
  type(input: string): void {
    for (const key of this.#parser.feed(input)) this.view.handleKey(key);
    this.draw();
  }

  /** Hands the view one session event, then draws. */
  event(event: SessionEvent): void {
    this.view.handleEvent(event);
    this.draw();
  }

  /** A WELCOME for the fake session's room and members. */
  welcome(rejoined = false): void {
    this.event({
      type: "welcome",
      room: this.session.room,
      host: this.session.host,
      members: this.session.members,
      rejoined,
    });
  }

  /** A message from `name` at 12:00 (or `time`). */
  message(name: string, text: string, time = at(12, 0)): void {
    this.event({ type: "message", seq: ++this.#seq, time, name, text, replay: false });
  }

  /** Resizes the terminal and tells the screen, as SIGWINCH would. */
  resize(cols: number, rows: number): void {
    this.vt.resize(cols, rows);
    this.view.resize(cols, rows);
    this.draw();
  }

  /** The visible rows. */
  get visible(): string[] {
    return this.vt.visibleRows();
  }

  /** Every row, scrollback first. */
  get all(): string[] {
    return this.vt.allRows();
  }

  /** The status line (the row above the input). */
  statusRow(inputRows = 1): string {
    return this.visible[this.visible.length - 1 - inputRows]!;
  }
}
