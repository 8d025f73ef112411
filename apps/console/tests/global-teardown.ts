// Stops the console server and the devnet (its nodes are its children: SIGTERM stops them).
import { existsSync, rmSync } from 'node:fs'
import { STATE_FILE, state } from './devnet'
import { stop } from './global-setup'

export default async function globalTeardown() {
  if (!existsSync(STATE_FILE)) return
  const s = state()
  stop(s.pids)
  // The nodes need a moment to exit before their directories go.
  await new Promise((r) => setTimeout(r, 2000))
  rmSync(s.root, { recursive: true, force: true })
}
