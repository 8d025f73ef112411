// Bundle verification on the page's thread: the same `weinong-audit` code as the CLI,
// compiled to WebAssembly.
import init, { Blinding, bindRoleProposal, checkConsistency, verifyBundle, verifyHead, viewProposal } from './wasm-pkg/weinong_console_wasm.js'
import { fromWasm } from './errors'

export type CheckOutcome =
  | { status: 'ok'; detail: string }
  | { status: 'failed'; reason: string }
  | { status: 'not_applicable'; detail: string }

export interface Evidence {
  transactions?: string[]
  heights?: number[]
  keys?: string[]
  hashes?: string[]
}

export interface Check {
  name: string
  outcome: CheckOutcome
  evidence: Evidence
}

export interface BundleReport {
  report: { request: string; checks: Check[] }
  lines: string[]
  holds: boolean
}

let ready: Promise<unknown> | null = null

/// Runs `call` once the WebAssembly is loaded; its thrown `code: text` becomes a
/// ConsoleFailure.
async function withWasm<T>(call: () => T): Promise<T> {
  ready ??= init()
  await ready
  try {
    return call()
  } catch (e) {
    throw fromWasm(e)
  }
}

export async function verify(
  bundle: string,
  genesis?: { bytes: Uint8Array; name: string },
  receipt?: string,
): Promise<BundleReport> {
  return withWasm(
    () => JSON.parse(verifyBundle(bundle, genesis?.bytes ?? new Uint8Array(), genesis?.name ?? '', receipt ?? '')) as BundleReport,
  )
}

/// A subject's pseudonym by the consortium's OPRF: `evaluate` sends the blinded element
/// (hex) to a department node and returns its evaluated element (hex). The ID number
/// never leaves this page.
export async function pseudonymOf(id: string, evaluate: (blinded: string) => Promise<string>): Promise<string> {
  ready ??= init()
  await ready
  let blinding: Blinding
  try {
    blinding = Blinding.blind(id)
  } catch (e) {
    throw fromWasm(e)
  }
  try {
    const evaluated = await evaluate(blinding.blinded())
    return blinding.finish(evaluated)
  } catch (e) {
    throw e instanceof Error && /^[a-z_]+: /.test(e.message) ? fromWasm(e) : e
  } finally {
    blinding.free()
  }
}

export interface ProposalView {
  seq: number; consortium: string; change: string; key: string | null; role: string | null
  valid_from: number | null; valid_until: number | null; summary: string; approvals: string[]
}

/// A role-binding proposal file (JSON, no approvals yet) for change `seq` of `consortium`.
export async function proposeBinding(consortium: string, seq: number, publicKey: string, role: string, from: number, until?: number): Promise<string> {
  return withWasm(() => bindRoleProposal(consortium, seq, publicKey, role, from, until ?? 0))
}

/// What a proposal file proposes and who approved it.
export async function readProposal(text: string): Promise<ProposalView> {
  return withWasm(() => JSON.parse(viewProposal(text)) as ProposalView)
}

export interface HeadView { height: number; log_size: number; log_root: string; time_ms: number }
export type Consistency =
  | { status: 'holds'; old: HeadView; new: HeadView }
  | { status: 'failed'; check: string; reason: string }

/// A certified head's summary if its commit certificate holds.
export async function headOf(text: string): Promise<HeadView> {
  return withWasm(() => JSON.parse(verifyHead(text)) as HeadView)
}

/// Whether the saved head's log is a prefix of today's.
export async function consistency(old: string, now: string, proof: string): Promise<Consistency> {
  return withWasm(() => JSON.parse(checkConsistency(old, now, proof)) as Consistency)
}
