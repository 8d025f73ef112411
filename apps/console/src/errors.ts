// One error type for the page: a closed code (the node's API codes, the console
// WebAssembly's codes, and the console's own) plus the English message, shown in the
// user's language by `describe`.
import { i18n } from './i18n'

export class ConsoleFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message)
  }
}

/// The WebAssembly's errors are `CODE: text`.
export function fromWasm(e: unknown): ConsoleFailure {
  const text = e instanceof Error ? e.message : String(e)
  const at = text.indexOf(': ')
  if (at > 0 && /^[a-z_]+$/.test(text.slice(0, at))) {
    return new ConsoleFailure(text.slice(0, at), text.slice(at + 2))
  }
  return new ConsoleFailure('internal', text)
}

/// What to tell the user, in the current language.
export function describe(e: unknown): string {
  const failure = e instanceof ConsoleFailure ? e : fromWasm(e)
  const t = i18n.global.t
  const key = `errors.${failure.code}`
  if (i18n.global.te(key)) return t(key, { message: failure.message, code: failure.code })
  return t('errors.other', { code: failure.code, message: failure.message })
}
