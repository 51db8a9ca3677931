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
 * Entries by every key of their names, over a Map by canonical key that the
 * owner keeps (a room's members, the open rooms): only the other keys live
 * here. Most names have no other key (the skeleton keys of "bob" are "bob"),
 * so most entries cost nothing beyond the owner's Map. Two entries never
 * share a key (a name that would is refused), so each key holds one entry.
 */
export class NameIndex<T> {
  #byCanonical: Map<string, T>;
  #byOtherKey: Map<string, T> | null = null;

  /** An index over `byCanonical`, which {@linkcode add} and {@linkcode remove} keep too. */
  constructor(byCanonical: Map<string, T> = new Map()) {
    this.#byCanonical = byCanonical;
  }

  /** The entry whose name shares a key with `keys` (the same name first), or undefined. */
  find(keys: NameKeys): T | undefined {
    for (const key of keys) {
      const found = this.#byCanonical.get(key) ?? this.#byOtherKey?.get(key);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** Files `value` under every key of its name. */
  add(keys: NameKeys, value: T): void {
    this.#byCanonical.set(keys[0]!, value);
    for (let i = 1; i < keys.length; i++) {
      this.#byOtherKey ??= new Map();
      this.#byOtherKey.set(keys[i]!, value);
    }
  }

  /** Removes `value` from the keys of its name; a key another entry holds stays. */
  remove(keys: NameKeys, value: T): void {
    if (this.#byCanonical.get(keys[0]!) === value) this.#byCanonical.delete(keys[0]!);
    for (let i = 1; i < keys.length; i++) {
      if (this.#byOtherKey?.get(keys[i]!) === value) this.#byOtherKey.delete(keys[i]!);
    }
    if (this.#byOtherKey?.size === 0) this.#byOtherKey = null;
  }

  /** Keys filed: one to three per entry. */
  get keyCount(): number {
    return this.#byCanonical.size + (this.#byOtherKey?.size ?? 0);
  }

  /** Forgets every entry (the Map by canonical key too). */
  clear(): void {
    this.#byCanonical.clear();
    this.#byOtherKey = null;
  }
}
