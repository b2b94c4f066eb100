import { createStore, get, set, type UseStore } from 'idb-keyval';

/** Browser storage (IndexedDB through idb-keyval) for what should survive a reload: chat history, device choice. */
let store: UseStore | undefined;
const db = () => (store ??= createStore('av-elements', 'kv'));

export async function load<T>(key: string): Promise<T | undefined> {
  try {
    return await get<T>(key, db());
  } catch {
    // Private browsing or blocked storage: work without it.
    return undefined;
  }
}

export async function save<T>(key: string, value: T): Promise<void> {
  try {
    await set(key, value, db());
  } catch {
    /* storage unavailable: nothing persists, nothing breaks */
  }
}
