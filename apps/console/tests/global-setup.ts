// Starts a devnet with synthetic data, records a consent and one admission assessment
// through the CLI (the product's main path), fetches its bundle as the auditor, and starts
// `weinong console` in front of node 0. The state goes to test-results/devnet-state.json.
import { spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { STATE_FILE, cli, cliVerify, keystore, type Actor, type State } from './devnet'

const BASE_PORT = 27400
const ADMISSION_CATEGORIES = 'ability_assessment,vital_signs,falls,screens,insurance_claims'

function weinongBinary(): string {
  if (process.env.WEINONG_BIN) return process.env.WEINONG_BIN
  const target = process.env.CARGO_TARGET_DIR ?? resolve(import.meta.dirname, '../../../target')
  return join(target, 'release', 'weinong')
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, seconds: number) {
  const end = Date.now() + seconds * 1000
  while (Date.now() < end) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`${what} did not happen within ${seconds} s`)
}

function start(bin: string, args: string[], log: string): number {
  const fd = openSync(log, 'w')
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd], detached: true })
  closeSync(fd)
  child.unref()
  if (!child.pid) throw new Error(`cannot start ${bin} ${args.join(' ')}`)
  return child.pid
}

/// ID numbers in all three departments' synthetic truth files (the id_number column).
function heldByAll(dir: string): string[] {
  const ids = (file: string) => {
    const lines = readFileSync(join(dir, 'synth', 'truth', file), 'utf8').trim().split('\n')
    // The columns before id_number (a hex subject, a claim id) hold no commas.
    const at = lines[0].split(',').indexOf('id_number')
    return new Set(lines.slice(1).map((l) => l.split(',')[at]))
  }
  const [civil, health, insurance] = ['civil.csv', 'health.csv', 'insurance.csv'].map(ids)
  return [...civil].filter((id) => health.has(id) && insurance.has(id)).sort()
}

export default async function globalSetup() {
  const pids: number[] = []
  rmSync(STATE_FILE, { force: true })
  try {
    await setUp(pids)
  } catch (e) {
    stop(pids)
    throw e
  }
}

/// Stops what the setup started (each is a process group: the devnet's nodes go with it).
export function stop(pids: number[]) {
  for (const pid of [...pids].reverse()) {
    try {
      process.kill(-pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }
}

async function setUp(pids: number[]) {
  const weinong = weinongBinary()
  if (!existsSync(weinong)) throw new Error(`${weinong} is missing: run cargo build --release first`)
  mkdirSync(dirname(STATE_FILE), { recursive: true })
  const root = mkdtempSync(join(tmpdir(), 'weinong-console-'))
  const dir = join(root, 'devnet')
  const devnetLog = join(root, 'devnet.log')
  pids.push(start(weinong, ['devnet', '--people', '600', '--base-port', String(BASE_PORT), '--dir', dir], devnetLog))
  await waitFor('the devnet start', () => readFileSync(devnetLog, 'utf8').includes('the devnet is running'), 300)

  const manifest = JSON.parse(readFileSync(join(dir, 'devnet.json'), 'utf8')) as {
    nodes: { url: string; keystore: string }[]; actors: Actor[]; example: { id_number: string }
  }
  const password = readFileSync(join(dir, 'password'), 'utf8').trim()
  const nodeUrl = manifest.nodes[0].url
  const base = {
    dir, weinong, password, nodeUrl, actors: manifest.actors, example: manifest.example.id_number,
    nodeKeystore: join(dir, manifest.nodes[0].keystore),
    others: heldByAll(dir).filter((id) => id !== manifest.example.id_number).slice(0, 8), root,
  }
  const key = (name: string) => keystore({ ...base } as State, name)
  const homeKey = manifest.actors.find((a) => a.name === 'care-home-1')!.key_id

  cli(base, ['consent', 'grant', '--subject', base.example, '--grantee', homeKey, '--purpose', 'admission_assessment',
    '--categories', ADMISSION_CATEGORIES, '--days', '30', '--key', key('registrar'), '--node', nodeUrl])
  const receipt = join(root, 'receipt.json')
  const assessed = cli(base, ['assess', 'request', '--subject', base.example, '--model', 'admission-v1', '--key',
    key('care-home-1'), '--node', nodeUrl, '--wait', '--receipt', receipt])
  const requestId = /request ([0-9a-f]{64})/.exec(assessed)?.[1]
  if (!requestId) throw new Error(`no request id in:\n${assessed}`)
  const bundle = join(root, 'bundle.json')
  cli(base, ['audit', 'request', requestId, '--key', key('auditor'), '--node', nodeUrl, '--out', bundle])

  // The console the devnet serves in front of node 0 (what a newcomer opens).
  const consoleUrl = /console \(为侬控制台\): (http:\/\/127\.0\.0\.1:\d+)/.exec(readFileSync(devnetLog, 'utf8'))?.[1]
  if (!consoleUrl) throw new Error(`the devnet printed no console URL: is apps/console/dist built?\n${readFileSync(devnetLog, 'utf8')}`)
  await waitFor('the console server', async () => {
    try {
      return (await fetch(`${consoleUrl}/v1/node`)).ok
    } catch {
      return false
    }
  }, 60)

  const s: State = { ...base, consoleUrl, pids, requestId, bundle, receipt, cliLines: [] }
  s.cliLines = cliVerify(s, [bundle])
  writeFileSync(STATE_FILE, JSON.stringify(s, null, 2))
}
