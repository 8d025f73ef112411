// Stops the console server and the devnet (its nodes are its children: SIGTERM stops them).
import { existsSync } from 'node:fs'
import { STATE_FILE, state } from './devnet'
import { stop } from './global-setup'

export default async function globalTeardown() {
  if (existsSync(STATE_FILE)) stop(state().pids)
}
