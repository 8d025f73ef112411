// What the tests share: the devnet the global setup started, read from its state file.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export const STATE_FILE = join(import.meta.dirname, '..', 'test-results', 'devnet-state.json')

export interface Actor { name: string; keystore: string; key_id: string }
export interface State {
  dir: string
  weinong: string
  password: string
  consoleUrl: string
  nodeUrl: string
  pids: number[]
  actors: Actor[]
  /// Node 0's own keystore (civil affairs): its operator opens policy runs.
  nodeKeystore: string
  example: string
  /// People every department holds, other than the example (for consent stories).
  others: string[]
  root: string
  requestId: string
  bundle: string
  receipt: string
  cliLines: string[]
}

export function state(): State {
  return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as State
}

export function keystore(s: State, name: string): string {
  const actor = s.actors.find((a) => a.name === name)
  if (!actor) throw new Error(`no actor ${name} in the devnet manifest`)
  return join(s.dir, actor.keystore)
}

/// Runs the CLI; returns stdout, or throws with its output.
export function cli(s: Pick<State, 'weinong' | 'password'>, args: string[]): string {
  return execFileSync(s.weinong, args, {
    encoding: 'utf8',
    env: { ...process.env, WEINONG_KEY_PASSWORD: s.password },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/// `weinong audit verify`'s lines (it exits 1 when a check fails: its stdout still counts).
export function cliVerify(s: State, args: string[]): string[] {
  let out: string
  try {
    out = cli(s, ['audit', 'verify', ...args])
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? '')
  }
  return out.trim().split('\n')
}

/// `weinong …` with its exit status and both outputs (for commands expected to refuse).
export function cliStatus(s: Pick<State, 'weinong' | 'password'>, args: string[]): { code: number; out: string } {
  try {
    return { code: 0, out: cli(s, args) }
  } catch (e) {
    const x = e as { status?: number; stdout?: string; stderr?: string }
    return { code: x.status ?? -1, out: `${x.stdout ?? ''}${x.stderr ?? ''}` }
  }
}
