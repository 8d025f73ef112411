// Keystores remembered in this browser (IndexedDB), for people who log in every day. A
// keystore file is already sealed under its password (PBKDF2-HMAC-SM3, SM4-GCM), so what is
// stored is exactly the file the user picked: nothing here is readable without the
// password, and the password itself is never stored.
const DB = 'weinong-console'
const STORE = 'keystores'

export interface Remembered { keyId: string; name: string; text: string; savedAt: number }

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1)
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'keyId' })
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
}

async function run<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open()
  try {
    return await new Promise<T>((resolve, reject) => {
      const request = work(db.transaction(STORE, mode).objectStore(STORE))
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(request.error)
    })
  } finally {
    db.close()
  }
}

export const listRemembered = () => run<Remembered[]>('readonly', (s) => s.getAll() as IDBRequest<Remembered[]>)
export const remember = (r: Remembered) => run('readwrite', (s) => s.put(r))
export const forget = (keyId: string) => run('readwrite', (s) => s.delete(keyId))
