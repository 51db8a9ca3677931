import assert from "node:assert/strict";
import { inviteLink, roomFragment, roomFromFragment } from "./invite.ts";

Deno.test("invite: the room goes in the fragment, percent-encoded, and comes back whole", () => {
  const room = "maths 2b & co #1 é";
  assert.equal(roomFragment(room), "#room=maths%202b%20%26%20co%20%231%20%C3%A9");
  assert.equal(roomFromFragment(roomFragment(room)), room);
  assert.equal(roomFromFragment("#other=1&room=a%2Fb"), "a/b");
});

Deno.test("invite: no room, an empty one or a bad escape is no room", () => {
  assert.equal(roomFromFragment(""), null);
  assert.equal(roomFromFragment("#room="), null);
  assert.equal(roomFromFragment("#room=%E0%A4%A"), null);
});

Deno.test("invite: the link is the page's address with only the room, never a password", () => {
  assert.equal(
    inviteLink("http://192.168.1.5:8080/?x=1#room=old&password=s3cret", "staff"),
    "http://192.168.1.5:8080/?x=1#room=staff",
  );
});
