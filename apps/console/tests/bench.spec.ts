// `bash scripts/console-bench.sh` (WEINONG_CONSOLE_BENCH=1): the console's figures, printed,
// not asserted — what a first visit transfers (JS, WebAssembly, CSS, compressed as the
// console server sends them), and how long a real request bundle takes to verify in the
// browser against the same verification natively (`weinong bench audit`), in one run.
import { test, expect } from '@playwright/test'
import { get } from 'node:http'
import { join } from 'node:path'
import { cliStatus, keystore, state } from './devnet'

const s = state()
const RUNS = 15

test.skip(!process.env.WEINONG_CONSOLE_BENCH, 'a benchmark: run it with scripts/console-bench.sh')

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/// The bytes the console server sends for `url` to a browser that accepts gzip.
function transferred(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
      let n = 0
      res.on('data', (chunk: Buffer) => (n += chunk.length))
      res.on('end', () => resolve(n))
    }).on('error', reject)
  })
}

test('bench: first load and in-browser bundle verification against native', async ({ page }) => {
  test.setTimeout(300_000)
  // Every static file the page (and, through the same URLs, its worker) loads.
  const urls = new Set<string>()
  page.on('request', (r) => {
    if (!r.url().includes('/v1/')) urls.add(r.url())
  })
  await page.goto(s.consoleUrl)
  await page.getByTestId('keystore').setInputFiles(keystore(s, 'auditor'))
  await page.getByTestId('password').fill(s.password)
  await page.getByTestId('login').click()
  await expect(page.getByTestId('roles')).toContainText('审计员')
  await page.getByTestId('nav-audit').click()
  await page.getByRole('tab', { name: '核验本地文件' }).click()
  await page.getByTestId('bundle-file').setInputFiles(s.bundle)
  await page.getByTestId('verify').click()
  await expect(page.getByTestId('verdict')).toContainText('全部检查通过')
  const sizes = await Promise.all([...urls].map(async (u) => [u, await transferred(u)] as const))
  const total = sizes.reduce((a, [, b]) => a + b, 0)
  const wasm = sizes.filter(([u]) => u.endsWith('.wasm')).reduce((a, [, b]) => a + b, 0)

  const browser: number[] = []
  for (let i = 0; i < RUNS; i++) {
    await page.getByTestId('verify').click()
    await expect(page.getByTestId('verdict')).toContainText('全部检查通过')
    browser.push(Number(/(\d+)/.exec((await page.getByTestId('verify-ms').textContent()) ?? '')![1]))
  }
  const native = cliStatus(s, ['bench', 'audit', s.bundle, '--iterations', String(RUNS)])
  expect(native.code, native.out).toBe(0)
  const nativeMs = Number(/median ([\d.]+) ms/.exec(native.out)![1])
  const browserMs = median(browser)
  console.log(`console first load: ${(total / 1024).toFixed(0)} KiB transferred in ${sizes.length} files (HTML, JS, CSS; WebAssembly ${(wasm / 1024).toFixed(0)} KiB of it), gzip; aim <= 1536 KiB`)
  console.log(`bundle verification (${join(s.bundle)}): browser median ${browserMs} ms over ${RUNS} runs, native median ${nativeMs} ms: ${(browserMs / nativeMs).toFixed(2)}x native (aim <= 2x)`)
})
