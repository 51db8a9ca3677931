/// <reference lib="dom" />
/**
 * The part of happy-dom's `Window` the page's DOM tests use, typed with the
 * DOM's own types. Declared here instead of loading happy-dom's
 * declarations, which bring @types/node into the type check of the whole
 * project (`deno check`), where they change how other files check.
 */
export class Window extends EventTarget {
  constructor(options?: { url?: string });
  readonly document: Document;
  readonly location: Location;
  readonly DOMParser: typeof DOMParser;
  readonly Event: typeof Event;
  readonly KeyboardEvent: typeof KeyboardEvent;
  readonly ClipboardEvent: typeof ClipboardEvent;
  readonly DataTransfer: typeof DataTransfer;
  readonly happyDOM: { close(): Promise<void> };
}
