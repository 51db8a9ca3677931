/**
 * What a session knows of its room and shows of it: the host, the members
 * (from each WELCOME, then followed through joined, left and timed-out
 * events), and the room's events as front-end events, each shown once even
 * when a rejoin's replay repeats it.
 */
import { type ChatEvent, EventType } from "../protocol/datagram.ts";
import { ShownEvents } from "./rejoin.ts";
import type { MemberBody } from "./sealed_channel.ts";
import type { SessionEvent } from "./session_options.ts";

type Welcome = MemberBody & { kind: "welcome" };

/** One member's view of one room, across its memberships. */
export class RoomView {
  #username: string;
  #host = "";
  #members = new Set<string>();
  #isHost: boolean;
  #rejoined = false;
  #shown = new ShownEvents();

  /** `wasHost`: we create the room (so a rejoin creates it again). */
  constructor(username: string, wasHost: boolean) {
    this.#username = username;
    this.#isHost = wasHost;
  }

  /** The host's name; empty before the first WELCOME. */
  get host(): string {
    return this.#host;
  }

  /** Members as far as we know, in join order. */
  get members(): string[] {
    return [...this.#members];
  }

  /** Whether we were the host when last in the room (a rejoin then creates it again). */
  get isHost(): boolean {
    return this.#isHost;
  }

  /** The WELCOME of a membership: the "welcome" event to show. */
  welcomed(body: Welcome): SessionEvent {
    const previousHost = this.#host;
    this.#take(body);
    return {
      type: "welcome",
      room: body.room,
      host: body.host,
      members: body.members,
      rejoined: this.#rejoined,
      // A rejoin that lands in a room with another host: a restart let someone else create it.
      ...(this.#rejoined && previousHost !== "" && previousHost !== body.host
        ? { previousHost }
        : {}),
    };
  }

  /** The WELCOME of a resume (the same membership on a new socket): nothing to show. */
  resumed(body: Welcome): void {
    this.#take(body);
  }

  /** A rejoin begins: what was shown so far is what the next WELCOME's replay may repeat. */
  rejoining(): void {
    this.#shown.rejoining();
  }

  /** A rejoin got a new membership: its WELCOME says so. */
  rejoined(): void {
    this.#rejoined = true;
  }

  /**
   * A room event in seq order, as the event to show, or null when it was
   * shown before a rejoin (back in the same room on the same server: the
   * WELCOME's replay repeats what was already shown).
   */
  eventOf(event: ChatEvent, replay: boolean): SessionEvent | null {
    if (this.#shown.isRepeat(event)) return null;
    const base = { seq: event.seq, time: new Date(event.timeMs), name: event.name, replay };
    switch (event.type) {
      case EventType.MESSAGE:
        return { type: "message", ...base, text: event.text };
      case EventType.JOINED:
        this.#members.add(event.name);
        return { type: "joined", ...base };
      case EventType.LEFT:
        this.#members.delete(event.name);
        return { type: "left", ...base };
      case EventType.TIMED_OUT:
        this.#members.delete(event.name);
        return { type: "timedOut", ...base };
    }
  }

  #take(body: Welcome): void {
    this.#host = body.host;
    this.#isHost = body.host === this.#username;
    this.#members = new Set(body.members);
  }
}
