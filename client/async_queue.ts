/**
 * An unbounded queue read with `for await`: push never blocks, and the
 * iteration ends after `end()` once everything pushed has been read.
 */
export class AsyncQueue<T> {
  #items: T[] = [];
  #waiting: ((result: IteratorResult<T>) => void) | null = null;
  #ended = false;

  /** Adds an item (ignored after end). */
  push(item: T): void {
    if (this.#ended) return;
    if (this.#waiting !== null) {
      const resolve = this.#waiting;
      this.#waiting = null;
      resolve({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
  }

  /** No more items will come. */
  end(): void {
    this.#ended = true;
    if (this.#waiting !== null && this.#items.length === 0) {
      const resolve = this.#waiting;
      this.#waiting = null;
      resolve({ value: undefined, done: true });
    }
  }

  /** Reads items in order; one reader at a time. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.#items.length > 0) {
          return Promise.resolve({ value: this.#items.shift()!, done: false });
        }
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.#waiting = resolve));
      },
    };
  }
}
