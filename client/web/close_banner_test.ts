import assert from "node:assert/strict";
import { CloseReason } from "../../protocol/datagram.ts";
import { endNotice } from "./close_banner.ts";

Deno.test("end: removed for idleness offers a rejoin", () => {
  assert.deepEqual(endNotice(CloseReason.IDLE, "idle for 300 s"), {
    banner: "idle",
    text: "You were removed for sending no message for too long.",
    action: "rejoin",
  });
});

Deno.test("end: close 4426 says reload, whatever the reason", () => {
  const notice = endNotice("lost", "this page is out of date: reload it", 4426);
  assert.equal(notice.banner, "outdated");
  assert.equal(notice.action, "reload");
  assert.equal(endNotice("lost", "out of date", 4409).banner, "closed");
});

Deno.test("end: continued elsewhere (4409) is a closed banner with the reason", () => {
  assert.deepEqual(endNotice("lost", "continued on a newer connection", 4409), {
    banner: "closed",
    text: "Connection lost: continued on a newer connection",
    action: null,
  });
});

Deno.test("end: a closed room gives the server's reason, made safe to show", () => {
  const notice = endNotice(CloseReason.HOST_LEFT, "the host ann\u202E left");
  assert.equal(notice.banner, "closed");
  assert.equal(notice.action, null);
  assert.equal(notice.text, "The host ann\uFFFD left.");
});
