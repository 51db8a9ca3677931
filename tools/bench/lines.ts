/** One JSON object a line over a pipe: reading lines from a stream, writing them whole. */

/** The lines of a byte stream, without their newlines. */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
    }
  }
  pending += decoder.decode();
  if (pending.length > 0) yield pending;
}

/** Writes all of `text` to a synchronous writer (stdout), however many calls it takes. */
export function writeAllSync(writer: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += writer.writeSync(bytes.subarray(written));
}
