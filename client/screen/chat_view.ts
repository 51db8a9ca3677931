/**
 * The chat screen's behaviour: keys and session events in, lines, status and
 * input out (through {@linkcode ChatScreen}). Commands, the host's
 * confirmation before closing the room, paste confirmation, the "sending
 * d/n" count, mentions with a rate-limited bell, day-change lines. Pure: the
 * session, the screen and the clocks are given.
 */
import { EVENT_HEADER_BYTES, MAX_DATAGRAM_BYTES } from "../../protocol/datagram.ts";
import { encodeUtf8 } from "../../protocol/bytes.ts";
import { CloseReason } from "../../protocol/datagram.ts";
import type { SessionEvent } from "../session_options.ts";
import { RoomColors } from "./colors.ts";
import { dayLine, eventSpans, idleWarningSpans, mentions, STYLE } from "./event_lines.ts";
import type { Key } from "./keys.ts";
import { layoutInput, type StatusInfo, statusLine } from "./layout.ts";
import { LineEditor } from "./line_editor.ts";
import type { ChatScreen } from "./screen.ts";
import { graphemes, screenText } from "./text_width.ts";

/** A paste of more lines than this asks before sending them. */
export const PASTE_CONFIRM_LINES = 3;
/** At most one mention bell in this long. */
export const BELL_INTERVAL_MS = 5_000;
/** Bytes of a member's token in MESSAGE datagrams. */
const TOKEN_BYTES = 32;

/** What the screen needs of a session ({@linkcode ChatSession} has it all). */
export interface ScreenSession {
  readonly username: string;
  readonly room: string;
  readonly host: string;
  readonly members: string[];
  send(text: string): number;
  leave(): Promise<void>;
}

/** How a {@linkcode ChatView} is set up. */
export interface ChatViewOptions {
  session: ScreenSession;
  screen: ChatScreen;
  /** Ring the bell when someone mentions your name (default true). */
  bell?: boolean;
  /** Monotonic milliseconds, for the bell's rate limit. */
  now: () => number;
  /** The wall clock, for the day-change line. */
  today: () => Date;
}

/** The help text of /help. */
export const HELP: readonly string[] = [
  "Commands:",
  "  /help           this list",
  "  /me TEXT        an action: shown as * you TEXT",
  "  /members, /who  who is in the room",
  "  /clear          clear the screen",
  "  /leave, /quit   leave the room (also: exit!, Ctrl+C, Ctrl+D on an empty line)",
  "  //text          send a message that starts with /",
  "Keys: Ctrl+A/E start/end, Ctrl+U/K/W delete before/after/word, Up/Down history,",
  "      Tab completes a name, PageUp/PageDown scroll back, Ctrl+L redraws",
];

const HINT = "* Type /help for commands.";

/** The chat screen's behaviour; see the module comment. */
export class ChatView {
  #o: ChatViewOptions;
  #session: ScreenSession;
  #screen: ChatScreen;
  #editor = new LineEditor();
  #colors = new RoomColors();
  #state: StatusInfo["state"] = "joining";
  #batch = { total: 0, done: 0 };
  #confirm: { question: string; yes: () => void; no?: () => void } | null = null;
  #lastBell = -Infinity;
  #lastDay: string | null = null;
  #leaving = false;

  constructor(options: ChatViewOptions) {
    this.#o = options;
    this.#session = options.session;
    this.#screen = options.screen;
    this.#colors.of(this.#session.username);
    this.#update();
  }

  /** True once the person asked to leave (the session is leaving). */
  get leaving(): boolean {
    return this.#leaving;
  }

  /** The text in the input line. */
  get input(): string {
    return this.#editor.text;
  }

  /** Adds a notice line. */
  notice(text: string, style = ""): void {
    this.#screen.addLine([{ text, style }]);
  }

  /** One session event. */
  handleEvent(event: SessionEvent): void {
    if (event.type === "idleWarning") {
      this.#screen.addLine(idleWarningSpans(event.removeInMs));
      this.#screen.bell();
      return;
    }
    if ("time" in event) this.#dayChange(event.time);
    switch (event.type) {
      case "welcome":
        this.#colors.assign(event.members);
        this.#state = "connected";
        break;
      case "joined":
        this.#colors.of(event.name);
        break;
      case "delivered":
      case "undelivered":
        if (this.#batch.done < this.#batch.total) this.#batch.done++;
        if (this.#batch.done === this.#batch.total) this.#batch = { total: 0, done: 0 };
        break;
      case "rejoining":
        this.#state = "rejoining";
        break;
      case "closed":
        this.#state = event.reason === "lost" || event.reason === CloseReason.LOST
          ? "lost"
          : "closed";
        this.#confirm = null;
        break;
    }
    const spans = eventSpans(event, { me: this.#session.username, colors: this.#colors });
    if (spans !== null) this.#screen.addLine(spans);
    if (event.type === "welcome" && !event.rejoined) this.notice(HINT, STYLE.dim);
    if (
      event.type === "message" && !event.replay &&
      event.name.toLowerCase() !== this.#session.username.toLowerCase() &&
      mentions(event.text, this.#session.username)
    ) {
      this.#ring();
    }
    if (
      event.type === "closed" && event.reason === CloseReason.LEFT &&
      this.#session.host === this.#session.username
    ) {
      this.notice("* The room was closed because its host left.", STYLE.dim);
    }
    this.#update();
  }

  /** One key. */
  handleKey(key: Key): void {
    if (this.#confirm !== null) return this.#answer(key);
    const e = this.#editor;
    if (key.kind === "text") e.insert(key.text);
    else if (key.kind === "paste") this.#paste(key.text);
    else {
      switch (key.name) {
        case "enter":
          this.#submit();
          break;
        case "backspace":
        case "ctrl+h":
          e.backspace();
          break;
        case "delete":
          e.deleteForward();
          break;
        case "left":
        case "ctrl+b":
          e.left();
          break;
        case "right":
        case "ctrl+f":
          e.right();
          break;
        case "home":
        case "ctrl+a":
          e.home();
          break;
        case "end":
        case "ctrl+e":
          e.end();
          break;
        case "wordLeft":
          e.wordLeft();
          break;
        case "wordRight":
          e.wordRight();
          break;
        case "ctrl+u":
          e.killToStart();
          break;
        case "ctrl+k":
          e.killToEnd();
          break;
        case "ctrl+w":
          e.killWord();
          break;
        case "up":
        case "ctrl+p":
          e.historyUp();
          break;
        case "down":
        case "ctrl+n":
          e.historyDown();
          break;
        case "tab":
          e.complete(this.#session.members.filter((m) => m !== this.#session.username));
          break;
        case "pageUp":
          this.#screen.pageUp();
          break;
        case "pageDown":
          this.#screen.pageDown();
          break;
        case "ctrl+l":
          this.#screen.redraw();
          break;
        case "ctrl+c":
          this.requestLeave();
          break;
        case "ctrl+d":
          if (e.text === "") this.requestLeave();
          else e.deleteForward();
          break;
        case "ctrl+\\":
          this.leaveNow();
          break;
        case "ctrl+z":
          // Stopped, the client would send no heartbeats and be dropped from the room.
          this.notice("* Ctrl+Z does not suspend the chat screen; /leave leaves the room.");
          break;
      }
    }
    this.#update();
  }

  /** The terminal changed size. */
  resize(cols: number, rows: number): void {
    this.#screen.resize(cols, rows);
    this.#update();
  }

  /** Leaves; a host is asked first, since leaving closes the room for everyone. */
  requestLeave(): void {
    if (this.#leaving) return;
    if (this.#session.host !== this.#session.username) return this.leaveNow();
    this.#confirm = {
      question: "Leaving closes the room for everyone. Leave? (y/n) ",
      yes: () => this.leaveNow(),
    };
    this.#update();
  }

  /** Leaves without asking (a signal, Ctrl+\\, a confirmed question). */
  leaveNow(): void {
    if (this.#leaving) return;
    this.#leaving = true;
    this.#confirm = null;
    void this.#session.leave();
    this.#update();
  }

  #answer(key: Key): void {
    const confirm = this.#confirm!;
    const yes = (key.kind === "text" && /^[yY]/.test(key.text)) ||
      (key.kind === "key" && (key.name === "ctrl+c" || key.name === "ctrl+d"));
    this.#confirm = null;
    if (yes) confirm.yes();
    else confirm.no?.();
    this.#update();
  }

  #submit(): void {
    const text = this.#editor.text.trimEnd();
    const command = text.split(" ")[0]!;
    if (text === "exit!" || command === "/leave" || command === "/quit") {
      this.#editor.take();
      return this.requestLeave();
    }
    if (text.startsWith("/") && !text.startsWith("//") && command !== "/me") {
      this.#editor.take();
      return this.#command(command);
    }
    if (text === "") return;
    if (command === "/me" && text.trim() === "/me") {
      this.#editor.take();
      return this.notice("/me needs some text: /me waves");
    }
    const message = text.startsWith("//") ? text.slice(1) : text;
    if (this.#send(message)) this.#editor.take();
  }

  #command(command: string): void {
    switch (command) {
      case "/help":
        for (const line of HELP) this.notice(line);
        return;
      case "/members":
      case "/who": {
        const members = this.#session.members.map((m) =>
          screenText(m === this.#session.host ? `${m} (host)` : m)
        );
        return this.notice(`${members.length} here: ${members.join(", ")}`);
      }
      case "/clear":
        return this.#screen.clear();
      default:
        return this.notice(`unknown command ${screenText(command)}; /help lists them`);
    }
  }

  /** Sends one message; false (with a notice saying why) when it was not sent. */
  #send(text: string): boolean {
    const over = this.#tooLong(text);
    if (over > 0) {
      this.notice(
        `! not sent: ${over} ${over === 1 ? "character" : "characters"} too long; ` +
          "shorten it and press Enter",
        STYLE.error,
      );
      return false;
    }
    try {
      this.#session.send(text);
      this.#batch.total++;
      return true;
    } catch (error) {
      this.notice(`! not sent: ${(error as Error).message}`, STYLE.error);
      return false;
    }
  }

  /**
   * How many grapheme clusters `text` has past what one datagram carries:
   * both our MESSAGE (room name and token) and the EVENT the server relays
   * (our name) must fit in {@linkcode MAX_DATAGRAM_BYTES}.
   */
  #tooLong(text: string): number {
    const budget = Math.min(
      MAX_DATAGRAM_BYTES - 2 - encodeUtf8(this.#session.room).length - TOKEN_BYTES - 5,
      MAX_DATAGRAM_BYTES - EVENT_HEADER_BYTES - encodeUtf8(this.#session.username).length,
    );
    if (text.length <= budget / 3) return 0;
    let bytes = 0;
    let fitting = 0;
    const clusters = graphemes(text);
    for (const g of clusters) {
      bytes += encodeUtf8(g).length;
      if (bytes > budget) break;
      fitting++;
    }
    return clusters.length - fitting;
  }

  #paste(raw: string): void {
    // Line ends as \n, tabs as spaces, other control characters dropped.
    const text = raw.replace(/\r\n?/g, "\n").replace(/\t/g, "    ").replace(/(?!\n)\p{Cc}/gu, "");
    if (!text.includes("\n")) return this.#editor.insert(text);
    const e = this.#editor;
    const whole = e.text.slice(0, e.cursor) + text + e.text.slice(e.cursor);
    const lines = whole.split("\n");
    const keep = lines.pop()!;
    const toSend = lines.filter((line) => line.trim() !== "");
    const send = () => {
      for (const line of toSend) this.#send(line);
      this.#editor.set(keep);
    };
    if (toSend.length <= PASTE_CONFIRM_LINES) return send();
    this.#confirm = { question: `Send ${toSend.length} pasted lines? (y/n) `, yes: send };
  }

  #dayChange(time: Date): void {
    const day = time.toDateString();
    const first = this.#lastDay === null;
    if (day === this.#lastDay) return;
    this.#lastDay = day;
    if (first && day === this.#o.today().toDateString()) return;
    this.#screen.addLine(dayLine(time));
  }

  #ring(): void {
    if (this.#o.bell === false) return;
    const now = this.#o.now();
    if (now - this.#lastBell < BELL_INTERVAL_MS) return;
    this.#lastBell = now;
    this.#screen.bell();
  }

  #update(): void {
    const s = this.#session;
    const status = statusLine({
      room: screenText(s.room),
      host: screenText(s.host || "?"),
      members: s.members.length,
      state: this.#leaving && this.#state === "connected" ? "leaving" : this.#state,
      sending: this.#batch.total > 0 ? { ...this.#batch } : null,
    }, this.#screen.cols);
    this.#screen.setStatus(status);
    const prompt = this.#confirm?.question ?? `${screenText(s.username)}> `;
    const text = this.#confirm === null ? this.#editor.text : "";
    const cursor = this.#confirm === null ? this.#editor.cursor : 0;
    this.#screen.setInput(layoutInput(prompt, text, cursor, this.#screen.cols));
  }
}
