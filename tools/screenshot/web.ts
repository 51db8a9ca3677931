/**
 * `deno task screenshot:web`: copies the phone-sized screenshot of the web
 * page that the browser test (tests/browser_test.ts) saved at
 * {@linkcode WEB_SCREENSHOT_SAVED} to {@linkcode WEB_SCREENSHOT_SHOWN}, the
 * picture the README and docs/web.md show. The test takes it from a real
 * run (a real `chat serve`, Chromium, a terminal member); this task only
 * publishes it, so the suite never writes into docs/.
 */
import { isPng, WEB_SCREENSHOT_SAVED, WEB_SCREENSHOT_SHOWN } from "./web_paths.ts";

let bytes: Uint8Array;
try {
  bytes = await Deno.readFile(WEB_SCREENSHOT_SAVED);
} catch (error) {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
  // deno-lint-ignore no-console
  console.error(
    `chat: no ${WEB_SCREENSHOT_SAVED} yet: run the browser test first ` +
      `(deno test --allow-net --allow-env --allow-run --allow-read --allow-write --allow-ffi ` +
      `tests/browser_test.ts), then this task again.`,
  );
  Deno.exit(1);
}
if (!isPng(bytes)) {
  // deno-lint-ignore no-console
  console.error(`chat: ${WEB_SCREENSHOT_SAVED} is not a PNG file`);
  Deno.exit(1);
}
await Deno.writeFile(WEB_SCREENSHOT_SHOWN, bytes);
// deno-lint-ignore no-console
console.log(`copied ${WEB_SCREENSHOT_SAVED} to ${WEB_SCREENSHOT_SHOWN} (${bytes.length} bytes)`);
