// The Web Worker that holds the logged-in key. The keystore is opened here (PBKDF2 takes
// seconds; the page stays responsive) and the secret never leaves this worker's
// WebAssembly memory: the page asks for signatures, never for the key. Logging out
// frees the key (wiped by its Drop) and ends the worker.
import init, { ConsoleKey } from './wasm-pkg/weinong_console_wasm.js'

/// A signed transaction for `POST /v1/transactions`.
export interface SignedTx { hex: string; hash: string; id: string }

export type KeyRequest =
  | { id: number; op: 'unlock'; keystore: string; password: Uint8Array }
  | { id: number; op: 'sign'; consortium: string; node: string; method: string; target: string; body: Uint8Array; timeMs: number }
  | { id: number; op: 'grant'; form: string; nonce: number; timeMs: number }
  | { id: number; op: 'withdraw'; consent: string; nonce: number; timeMs: number }
  | { id: number; op: 'policyRun'; policy: string; nonce: number; timeMs: number }
  | { id: number; op: 'request'; model: string; subject: string; nonce: number; timeMs: number }
  | { id: number; op: 'open'; input: string }
  | { id: number; op: 'record'; request: string; model: string; commitment: string; nonce: number; timeMs: number }
  | { id: number; op: 'approve'; proposal: string }
  | { id: number; op: 'governance'; proposal: string; nonce: number; timeMs: number }
  | { id: number; op: 'close' }

export type KeyAnswer =
  | { id: number; ok: true; keyId?: string; headers?: [string, string][]; tx?: SignedTx; opened?: string; proposal?: string }
  | { id: number; ok: false; message: string }

const ready = init()
let key: ConsoleKey | null = null

/// The open key, for every operation but unlocking.
function need(): ConsoleKey {
  if (!key) throw new Error('internal: no key is open')
  return key
}

self.onmessage = async (event: MessageEvent<KeyRequest>) => {
  const request = event.data
  const answer = (a: KeyAnswer) => (self as unknown as Worker).postMessage(a)
  try {
    await ready
    switch (request.op) {
      case 'unlock': {
        key?.free()
        key = null
        try {
          key = ConsoleKey.open(request.keystore, request.password)
        } finally {
          request.password.fill(0)
        }
        answer({ id: request.id, ok: true, keyId: key.keyId() })
        break
      }
      case 'sign': {
        const headers = JSON.parse(
          need().sign(request.consortium, request.node, request.method, request.target, request.body, request.timeMs),
        ) as [string, string][]
        answer({ id: request.id, ok: true, headers })
        break
      }
      case 'grant': {
        answer({ id: request.id, ok: true, tx: JSON.parse(need().consentGrant(request.form, request.nonce, request.timeMs)) as SignedTx })
        break
      }
      case 'withdraw': {
        answer({ id: request.id, ok: true, tx: JSON.parse(need().consentWithdraw(request.consent, request.nonce, request.timeMs)) as SignedTx })
        break
      }
      case 'policyRun': {
        answer({ id: request.id, ok: true, tx: JSON.parse(need().policyRun(request.policy, request.nonce, request.timeMs)) as SignedTx })
        break
      }
      case 'request': {
        answer({ id: request.id, ok: true, tx: JSON.parse(need().assessmentRequest(request.model, request.subject, request.nonce, request.timeMs)) as SignedTx })
        break
      }
      case 'open': {
        answer({ id: request.id, ok: true, opened: need().openResult(request.input) })
        break
      }
      case 'record': {
        answer({ id: request.id, ok: true, tx: JSON.parse(need().resultRecord(request.request, request.model, request.commitment, request.nonce, request.timeMs)) as SignedTx })
        break
      }
      case 'approve': {
        answer({ id: request.id, ok: true, proposal: need().approveProposal(request.proposal) })
        break
      }
      case 'governance': {
        answer({ id: request.id, ok: true, tx: JSON.parse(need().governanceTx(request.proposal, request.nonce, request.timeMs)) as SignedTx })
        break
      }
      case 'close': {
        key?.free()
        key = null
        answer({ id: request.id, ok: true })
        break
      }
    }
  } catch (e) {
    answer({ id: request.id, ok: false, message: e instanceof Error ? e.message : String(e) })
  }
}
