// The page's side of the key worker: open, sign, close, one promise per message.
import type { KeyAnswer, KeyRequest, SignedTx } from './keyWorker'
import { fromWasm } from './errors'

export interface OutputValue { name: string; value: number; doc: string }
export type Opened =
  | { status: 'result'; outputs: OutputValue[]; receipt: object; commitment: string }
  | { status: 'refused'; reason: string }

type Pending = { resolve: (a: KeyAnswer & { ok: true }) => void; reject: (e: Error) => void }
type Op = KeyRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never

export class KeyClient {
  private worker = new Worker(new URL('./keyWorker.ts', import.meta.url), { type: 'module' })
  private next = 1
  private pending = new Map<number, Pending>()

  constructor() {
    this.worker.onmessage = (event: MessageEvent<KeyAnswer>) => {
      const answer = event.data
      const waiting = this.pending.get(answer.id)
      if (!waiting) return
      this.pending.delete(answer.id)
      if (answer.ok) waiting.resolve(answer)
      else waiting.reject(fromWasm(new Error(answer.message)))
    }
  }

  private ask(op: Op, transfer: Transferable[] = []): Promise<KeyAnswer & { ok: true }> {
    const id = this.next++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ ...op, id }, transfer)
    })
  }

  /// Opens the keystore; the password's bytes are moved to the worker (this side's buffer
  /// is detached) and wiped there.
  async unlock(keystore: string, password: string): Promise<string> {
    const bytes = new TextEncoder().encode(password)
    const answer = await this.ask({ op: 'unlock', keystore, password: bytes }, [bytes.buffer])
    return answer.keyId ?? ''
  }

  async sign(consortium: string, node: string, method: string, target: string, body: Uint8Array): Promise<[string, string][]> {
    const answer = await this.ask({ op: 'sign', consortium, node, method, target, body, timeMs: Date.now() })
    return answer.headers ?? []
  }

  /// A consent grant (the form as JSON) signed with `nonce`.
  async grant(form: object, nonce: number): Promise<SignedTx> {
    const answer = await this.ask({ op: 'grant', form: JSON.stringify(form), nonce, timeMs: Date.now() })
    return answer.tx!
  }

  async withdraw(consent: string, nonce: number): Promise<SignedTx> {
    const answer = await this.ask({ op: 'withdraw', consent, nonce, timeMs: Date.now() })
    return answer.tx!
  }

  /// The opening of a run of `policy` (hex id); `tx.id` is the new run id.
  async policyRun(policy: string, nonce: number): Promise<SignedTx> {
    return (await this.ask({ op: 'policyRun', policy, nonce, timeMs: Date.now() })).tx!
  }

  /// An assessment request for `subject` (hex pseudonym) under `model`; `tx.id` is the
  /// new request id.
  async request(model: string, subject: string, nonce: number): Promise<SignedTx> {
    return (await this.ask({ op: 'request', model, subject, nonce, timeMs: Date.now() })).tx!
  }

  /// Checks, opens and commits to a served result (see weinong-console-wasm's OpenInput).
  async open(input: object): Promise<Opened> {
    return JSON.parse((await this.ask({ op: 'open', input: JSON.stringify(input) })).opened!) as Opened
  }

  async record(request: string, model: string, commitment: string, nonce: number): Promise<SignedTx> {
    return (await this.ask({ op: 'record', request, model, commitment, nonce, timeMs: Date.now() })).tx!
  }

  /// The proposal file with this admin's approval added.
  async approve(proposal: string): Promise<string> {
    return (await this.ask({ op: 'approve', proposal })).proposal!
  }

  /// The governance transaction of a proposal file with its approvals.
  async governance(proposal: string, nonce: number): Promise<SignedTx> {
    return (await this.ask({ op: 'governance', proposal, nonce, timeMs: Date.now() })).tx!
  }

  async close(): Promise<void> {
    try {
      await this.ask({ op: 'close' })
    } finally {
      this.worker.terminate()
    }
  }
}
