import assert from "node:assert/strict";
import { CloseReason } from "../../protocol/datagram.ts";
import { endNotice, isOutOfDate } from "./close_banner.ts";

Deno.test("end: removed for idleness offers a rejoin", () => {
  assert.deepEqual(endNotice(CloseReason.IDLE, "idle for 300 s"), {
    banner: "idle",
    text: "You were removed for sending no message for too long.",
    action: "rejoin",
  });
});

Deno.test("end: close 4426 says reload, whatever the reason", () => {
  assert.equal(isOutOfDate("closed 4426: this page is out of date: reload it"), true);
  assert.equal(isOutOfDate("room 44260"), false);
  assert.equal(
    endNotice("lost", "WebSocket closed 4426 (this page is out of date: reload it)").action,
    "reload",
  );
});

Deno.test("end: a closed room gives the server's reason, made safe to show", () => {
  const notice = endNotice(CloseReason.HOST_LEFT, "the host ann\u202E left");
  assert.equal(notice.banner, "closed");
  assert.equal(notice.action, null);
  assert.equal(notice.text, "The host ann\uFFFD left.");
});
