// Who is logged in: the key (in its worker), the node it talks to, and the roles the
// ledger gives the key. Nothing here is persisted; a reload logs out.
import { defineStore } from 'pinia'
import { markRaw } from 'vue'
import { KeyClient } from '../keyClient'
import { ConsoleFailure } from '../errors'
import type { SignedTx } from '../keyWorker'
import { pseudonymOf } from '../verifier'

export interface NodeInfo {
  name: string
  node_key: string
  consortium: string
  request_auth_version: number
}

export interface KeyInfo {
  key_id: string
  member: number | null
  status: string
  roles: string[]
}

async function answer<T>(response: Response, what: string): Promise<T> {
  const text = await response.text()
  let body: unknown = undefined
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    // not JSON: a proxy's page, for instance
  }
  if (!response.ok) {
    const b = body as { code?: string; message?: string } | undefined
    throw new ConsoleFailure(b?.code ?? 'node_unreachable', b?.message ?? `${what}: HTTP ${response.status}`, response.status)
  }
  return body as T
}

/// What happened to a submitted transaction (`POST /v1/transactions`).
export type SubmitOutcome =
  | { status: 'committed'; tx: string; height: number; index: number }
  | { status: 'rejected'; tx: string; rejection: { code: string; message: string } }
  | { status: 'unavailable'; tx: string; reason: string }

export const useSession = defineStore('session', {
  state: () => ({
    key: null as KeyClient | null,
    keyId: '',
    roles: [] as string[],
    node: null as NodeInfo | null,
  }),
  getters: {
    loggedIn: (s) => s.key !== null,
    has: (s) => (role: string) => s.roles.includes(role),
  },
  actions: {
    /// The node's name and the scope requests are signed for (unsigned).
    async discover(): Promise<NodeInfo> {
      if (this.node) return this.node
      let response: Response
      try {
        response = await fetch('/v1/node')
      } catch (e) {
        throw new ConsoleFailure('node_unreachable', String(e))
      }
      this.node = await answer<NodeInfo>(response, 'GET /v1/node')
      return this.node
    },

    /// Opens the keystore in the worker and reads the key's roles from the ledger.
    async login(keystore: string, password: string) {
      await this.discover()
      const key = markRaw(new KeyClient())
      try {
        const keyId = await key.unlock(keystore, password)
        this.key = key
        this.keyId = keyId
        const info = await this.call<KeyInfo>('GET', `/v1/keys/${keyId}`)
        if (info.roles.length === 0) throw new ConsoleFailure('no_role', keyId)
        this.roles = info.roles
      } catch (e) {
        await this.logout()
        await key.close().catch(() => undefined)
        throw e
      }
    },

    async logout() {
      const key = this.key
      this.key = null
      this.keyId = ''
      this.roles = []
      if (key) await key.close().catch(() => undefined)
    },

    /// The next nonce: now in ms, above the key's last on the ledger.
    async nextNonce(): Promise<number> {
      const info = await this.call<KeyInfo & { last_nonce: number | null }>('GET', `/v1/keys/${this.keyId}`)
      return Math.max(Date.now(), (info.last_nonce ?? 0) + 1)
    },

    /// Signs a transaction with a fresh nonce and submits it until it has a fate (a node
    /// without a leader for a moment answers `unavailable`: retried for up to a minute).
    async submit(sign: (nonce: number) => Promise<SignedTx>): Promise<{ tx: SignedTx; outcome: SubmitOutcome }> {
      const end = Date.now() + 60_000
      for (;;) {
        const tx = await sign(await this.nextNonce())
        const answer = await this.call<{ outcomes: SubmitOutcome[] }>('POST', '/v1/transactions', { transactions: [tx.hex] })
        const outcome = answer.outcomes[0]
        if (outcome.status !== 'unavailable' || Date.now() > end) return { tx, outcome }
        await new Promise((r) => setTimeout(r, 1000))
      }
    },

    /// A subject's pseudonym through this node's OPRF (the ID stays in the page).
    async pseudonym(id: string): Promise<string> {
      return pseudonymOf(id, async (blinded) => {
        const answer = await this.call<{ evaluated: string[] }>('POST', '/v1/pseudonyms/evaluate', { blinded: [blinded] })
        if (answer.evaluated.length !== 1) throw new ConsoleFailure('oprf', 'the node answered no evaluated element')
        return answer.evaluated[0]
      })
    },

    /// One signed call to the node (through the console server, same origin).
    async call<T>(method: 'GET' | 'POST', target: string, body?: unknown): Promise<T> {
      const node = await this.discover()
      if (!this.key) throw new ConsoleFailure('internal', 'not logged in')
      const bytes = body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body))
      const headers = new Headers(await this.key.sign(node.consortium, node.node_key, method, target, bytes))
      if (body !== undefined) headers.set('content-type', 'application/json')
      let response: Response
      try {
        response = await fetch(target, { method, headers, body: body === undefined ? undefined : bytes })
      } catch (e) {
        throw new ConsoleFailure('node_unreachable', String(e))
      }
      return answer<T>(response, `${method} ${target}`)
    },
  },
})
