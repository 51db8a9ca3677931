/**
 * Names by their confusable keys (protocol/confusables.ts), so that a name
 * that looks like one already taken is found with a few Map lookups: the
 * members of a room, the open rooms, the rooms being created.
 *
 * @module
 */
import { confusableKeys } from "../protocol/confusables.ts";

/** The keys of a name: its canonical key first, then its distinct skeleton keys. */
export type NameKeys = readonly string[];

/** The keys of `name`; computed once by a caller that needs them more than once. */
export function nameKeys(name: string): NameKeys {
  return confusableKeys(name);
}

/**
 * Entries by every key of their names: one Map entry per distinct key, and
 * nothing else per entry. Two entries never share a key (a name that would
 * is refused), so each key holds one entry.
 */
export class NameIndex<T> {
  #byKey = new Map<string, T>();

  /** The entry whose name shares a key with `keys` (the same name first), or undefined. */
  find(keys: NameKeys): T | undefined {
    for (const key of keys) {
      const found = this.#byKey.get(key);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** Files `value` under every key of its name. */
  add(keys: NameKeys, value: T): void {
    for (const key of keys) this.#byKey.set(key, value);
  }

  /** Removes `value` from the keys of its name; a key another entry holds stays. */
  remove(keys: NameKeys, value: T): void {
    for (const key of keys) {
      if (this.#byKey.get(key) === value) this.#byKey.delete(key);
    }
  }

  /** Keys filed: one to three per entry. */
  get keyCount(): number {
    return this.#byKey.size;
  }

  /** Forgets every entry. */
  clear(): void {
    this.#byKey.clear();
  }
}
