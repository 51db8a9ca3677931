import assert from "node:assert/strict";
import { DEFAULT_SERVER_CONFIG, filePath, SERVE_FLAGS, yesOrNo } from "./config.ts";

Deno.test("--allow-plaintext is a switch that is off unless asked for, in words or digits", () => {
  assert.equal(DEFAULT_SERVER_CONFIG.allowPlaintext, false);
  const flag = SERVE_FLAGS.find((f) => f.key === "allowPlaintext")!;
  assert.equal(flag.switch, true);
  assert.equal(flag.env, "CHAT_ALLOW_PLAINTEXT");
  for (const word of ["true", "TRUE", "yes", "on", "1", " 1 "]) assert.equal(yesOrNo(word), true);
  for (const word of ["false", "No", "off", "0"]) assert.equal(yesOrNo(word), false);
  for (const word of ["", "2", "y", "enabled"]) {
    assert.throws(() => yesOrNo(word), /expected true or false/);
  }
});

Deno.test("--key-file is a path; empty means the default location", () => {
  assert.equal(DEFAULT_SERVER_CONFIG.keyFile, "");
  assert.equal(filePath(""), "");
  assert.equal(filePath("/etc/chat/key"), "/etc/chat/key");
  assert.throws(() => filePath("a\0b"), /expected a file path/);
  const flag = SERVE_FLAGS.find((f) => f.key === "keyFile")!;
  assert.equal(flag.env, "CHAT_KEY_FILE");
  assert.match(flag.defaultHelp!, /XDG_DATA_HOME/);
});
