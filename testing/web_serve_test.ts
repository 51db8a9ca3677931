import assert from "node:assert/strict";
import { withChildren } from "./cli.ts";
import { freeTcpPort, startWebServe } from "./web_serve.ts";

Deno.test("startWebServe: chat serve with its HTTP port, tried again on another when the first is taken", async () => {
  await withChildren(async (kids) => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const picks = [taken.addr.port, freeTcpPort()];
      const web = await startWebServe(kids, [], () => picks.shift()!);
      assert.equal(picks.length, 0, "the second port was tried");
      assert.notEqual(web.httpPort, taken.addr.port);
      assert.equal(web.url, `http://127.0.0.1:${web.httpPort}/`);
      const health = await fetch(`${web.url}healthz`);
      assert.equal(health.status, 200);
      assert.equal((await health.text()).trim(), "ok");
      assert.ok(web.server.port > 0);
    } finally {
      taken.close();
    }
  });
});
