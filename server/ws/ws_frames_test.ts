/** The handshake phase's framing: exactly one whole TCRP frame per message, at most two client frames. */
import assert from "node:assert/strict";
import { ProtocolError } from "../../protocol/errors.ts";
import { encodeTcrpFrame, Operation, SealedState, type TcrpFrame } from "../../protocol/tcrp.ts";
import { HandshakeFrames, NotOneFrame, oneFrame } from "./ws_frames.ts";

const frame = (state: number, payload = new Uint8Array(32)) =>
  encodeTcrpFrame({
    operation: Operation.SEALED_JOIN_ROOM,
    state: state as TcrpFrame["state"],
    roomName: new TextEncoder().encode("lab"),
    payload,
  });

const socket = () => {
  const sent: Uint8Array[] = [];
  let open = true;
  return {
    sent,
    close: () => open = false,
    link: {
      send: (bytes: Uint8Array) => open && sent.push(bytes) > 0,
      flush: () => {},
      close: () => {},
      bufferedAmount: 0,
      get isOpen() {
        return open;
      },
    },
  };
};

Deno.test("oneFrame: a whole frame parses; part of one or two in one message is NotOneFrame; a bad header is the parser's ProtocolError", () => {
  const hello = frame(SealedState.HELLO);
  assert.equal(oneFrame(hello, 1024).state, SealedState.HELLO);
  assert.throws(() => oneFrame(hello.subarray(0, 40), 1024), NotOneFrame);
  assert.throws(() => oneFrame(new Uint8Array([...hello, ...hello]), 1024), NotOneFrame);
  assert.throws(() => oneFrame(new Uint8Array([...hello, 0]), 1024), NotOneFrame);
  const bad = hello.slice();
  bad[2] = 9; // a state no operation has
  assert.throws(() => oneFrame(bad, 1024), ProtocolError);
  assert.throws(
    () => oneFrame(frame(SealedState.REQUEST, new Uint8Array(2048)), 1024),
    (error: ProtocolError) => error.status === 413,
  );
});

Deno.test("HandshakeFrames: the second frame reaches next() however the two meet; a third message is refused; end() resolves null", async () => {
  const early = new HandshakeFrames(socket().link, 1024);
  assert.equal(early.push(frame(SealedState.REQUEST)), true);
  assert.equal((await early.next())?.state, SealedState.REQUEST);
  assert.equal(early.push(frame(SealedState.REQUEST)), false, "a third client frame");

  const late = new HandshakeFrames(socket().link, 1024);
  const waiting = late.next();
  late.push(frame(SealedState.REQUEST));
  assert.equal((await waiting)?.state, SealedState.REQUEST);

  const broken = new HandshakeFrames(socket().link, 1024);
  broken.push(new Uint8Array(5));
  await assert.rejects(broken.next(), NotOneFrame);

  const ended = new HandshakeFrames(socket().link, 1024);
  const pending = ended.next();
  ended.end();
  assert.equal(await pending, null);
  assert.equal(await ended.next(), null);
});

Deno.test("HandshakeFrames: write sends one message, and rejects once the socket is closed", async () => {
  const s = socket();
  const frames = new HandshakeFrames(s.link, 1024);
  await frames.write(frame(SealedState.SERVER_HELLO));
  assert.equal(s.sent.length, 1);
  s.close();
  await assert.rejects(frames.write(frame(SealedState.ANSWER)));
});
