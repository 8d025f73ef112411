// The console against a real devnet: logging in with a keystore (the key stays in the
// page), the auditor's in-browser verification of a real bundle equal to `weinong audit
// verify`, a bundle with one byte changed failing the same named check, the ledger and
// node pages; every page screenshotted at 1366×768, scanned by axe-core, with no console
// errors; and no request carrying the password, the keystore's secret or an ID number.
import { test, expect, type Page, type Request } from '@playwright/test'
import AxeBuilder from '@axe-core/playwright'
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cli, cliStatus, cliVerify, keystore, state } from './devnet'

const s = state()
const traffic: { url: string; headers: Record<string, string>; body: string }[] = []
const consoleErrors: string[] = []
/// Secrets the page learned during the tests (the receipt's nonce: with the result it
/// opens the commitment), scanned for in the traffic at the end.
const learned: string[] = []

function watch(page: Page) {
  page.on('request', (r: Request) => {
    traffic.push({ url: r.url(), headers: r.headers(), body: r.postData() ?? '' })
  })
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text())
  })
  page.on('pageerror', (e) => consoleErrors.push(String(e)))
}

async function login(page: Page, actor: string, password = s.password) {
  await page.goto(s.consoleUrl)
  await page.getByTestId('keystore').setInputFiles(actor.includes('/') ? actor : keystore(s, actor))
  await page.getByTestId('password').fill(password)
  await page.getByTestId('login').click()
  // The home page (not only the header's roles): the log-in has finished navigating.
  if (password === s.password) await expect(page.getByTestId('key-id')).toBeVisible()
}

async function snapshot(page: Page, name: string) {
  await page.screenshot({ path: join('test-results', 'screens', `${name}.png`), fullPage: true })
  const axe = await new AxeBuilder({ page }).analyze()
  const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  expect(serious.map((v) => `${v.id}: ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`), `axe on ${name}`).toEqual([])
}

test.describe.configure({ mode: 'serial' })

test('a wrong password is refused in Chinese and sends nothing of the key', async ({ page }) => {
  watch(page)
  await login(page, 'auditor', `${s.password}x`)
  await expect(page.getByTestId('error')).toContainText('密码错误')
  await snapshot(page, 'login-refused')
})

test('the auditor verifies a real bundle in the browser exactly as the CLI does', async ({ page }) => {
  watch(page)
  await login(page, 'auditor')
  await expect(page.getByTestId('roles')).toContainText('审计员')
  await snapshot(page, 'home')

  await page.getByTestId('nav-audit').click()
  await page.getByTestId('request-id').fill(s.requestId)
  await page.getByTestId('fetch').click()
  await expect(page.getByTestId('verdict')).toContainText('全部检查通过')
  const lines = (await page.getByTestId('cli-lines').textContent())?.trim().split('\n')
  expect(lines).toEqual(s.cliLines)
  expect(lines?.slice(1, -1).every((l) => l.startsWith('ok'))).toBe(true)
  await snapshot(page, 'audit-fetched')
})

test('named tamperings (a proof hash, a header, the consent, the commitment in the bundle and in the receipt) each fail the check the CLI names', async ({ page }) => {
  watch(page)
  await login(page, 'auditor')
  await page.getByTestId('nav-audit').click()
  await page.getByRole('tab', { name: '核验本地文件' }).click()

  // One byte changed in the middle of a hex field.
  const flip = (hex: string) => {
    const bytes = Buffer.from(hex, 'hex')
    bytes[bytes.length >> 1] ^= 1
    return bytes.toString('hex')
  }
  type Entry = { bundle: { transaction: string; header: string; inclusion_proof: string[] } }
  type Bundle = { transactions: { entries: Entry[] } }
  const cases: { name: string; check: string; tamper: (b: Bundle, r: { commitment: string }) => void }[] = [
    {
      name: 'proof-hash', check: 'proofs', tamper: (b) => {
        const e = b.transactions.entries.find((x) => x.bundle.inclusion_proof.length > 0)!
        e.bundle.inclusion_proof[0] = flip(e.bundle.inclusion_proof[0])
      },
    },
    { name: 'header', check: 'proofs', tamper: (b) => { b.transactions.entries[1].bundle.header = flip(b.transactions.entries[1].bundle.header) } },
    // The first transaction of a request's story is the consent it rests on.
    { name: 'consent', check: 'proofs', tamper: (b) => { b.transactions.entries[0].bundle.transaction = flip(b.transactions.entries[0].bundle.transaction) } },
    // The result commitment inside the result record's signed bytes, and the care home's
    // copy of it in the receipt.
    {
      name: 'commitment', check: 'proofs', tamper: (b, r) => {
        const e = b.transactions.entries.find((x) => x.bundle.transaction.includes(r.commitment))!
        const at = e.bundle.transaction.indexOf(r.commitment)
        e.bundle.transaction = e.bundle.transaction.slice(0, at) + flip(r.commitment) + e.bundle.transaction.slice(at + r.commitment.length)
      },
    },
    { name: 'receipt-commitment', check: 'receipt', tamper: (_b, r) => { r.commitment = flip(r.commitment) } },
  ]
  for (const { name: label, check, tamper } of cases) {
    const bundle = JSON.parse(readFileSync(s.bundle, 'utf8')) as Bundle
    const receipt = JSON.parse(readFileSync(s.receipt, 'utf8')) as { commitment: string }
    tamper(bundle, receipt)
    const file = join('test-results', `tampered-${label}.json`)
    const receiptFile = join('test-results', `tampered-${label}-receipt.json`)
    writeFileSync(file, JSON.stringify(bundle, null, 2))
    writeFileSync(receiptFile, JSON.stringify(receipt, null, 2))
    const cli = cliVerify(s, [file, '--receipt', receiptFile])
    const failed = cli.find((l) => l.startsWith('FAILED'))
    expect(failed, `the CLI fails the ${label} tampering`).toBeTruthy()
    const named = /^FAILED\s+([^:]+):/.exec(failed!)![1]
    expect(named, `${label}: ${cli.join('\n')}`).toBe(check)

    await page.getByTestId('bundle-file').setInputFiles(file)
    await page.getByTestId('receipt-file').setInputFiles(receiptFile)
    await page.getByTestId('verify').click()
    await expect(page.getByTestId('verdict')).toContainText(`核验未通过：${check}`)
    expect((await page.getByTestId('cli-lines').textContent())?.trim().split('\n')).toEqual(cli)
  }
  await snapshot(page, 'audit-tampered')

  // Not a bundle at all: said so in Chinese.
  await page.getByTestId('bundle-file').setInputFiles(keystore(s, 'auditor'))
  await page.getByTestId('verify').click()
  await expect(page.getByTestId('error')).toContainText('不是请求证据包')
})

test('the ledger and node pages show the chain the node serves; a saved co-signed head is consistent with today\'s, a changed one is refused', async ({ page }) => {
  watch(page)
  await login(page, 'auditor')
  await page.getByTestId('nav-ledger').click()
  const height = Number(await page.getByTestId('latest-block').getByTestId('height').textContent())
  expect(height).toBeGreaterThan(0)
  await page.getByTestId('height-input').locator('input').fill('1')
  await page.getByTestId('show-block').click()
  await expect(page.getByTestId('shown-block').getByTestId('height')).toHaveText('1')
  await snapshot(page, 'ledger')

  // Save today's co-signed head; after more blocks, the saved one is a prefix of the new.
  await page.getByTestId('fetch-head').click()
  await expect(page.getByTestId('head-verdict')).toContainText('证书有效')
  const download = page.waitForEvent('download')
  await page.getByTestId('save-head').click()
  const saved = join('test-results', 'saved-head.json')
  await (await download).saveAs(saved)
  const granted = cliStatus(s, ['consent', 'grant', '--subject', s.others.at(-1)!, '--grantee', s.actors[0].key_id, '--purpose', 'supervision',
    '--categories', 'subsidies', '--days', '1', '--key', keystore(s, 'registrar'), '--node', s.nodeUrl])
  expect(granted.code, granted.out).toBe(0)
  await page.getByTestId('saved-head').setInputFiles(saved)
  await expect(page.getByTestId('consistency')).toContainText('一致：区块')
  // A saved head with one byte of its header changed is refused, by name.
  const head = JSON.parse(readFileSync(saved, 'utf8'))
  const bytes = Buffer.from(head.header, 'hex')
  bytes[bytes.length >> 1] ^= 1
  head.header = bytes.toString('hex')
  const bad = join('test-results', 'saved-head-changed.json')
  writeFileSync(bad, JSON.stringify(head))
  await page.getByTestId('saved-head').setInputFiles(bad)
  await expect(page.getByTestId('consistency')).toContainText('不一致（old_head）')
  await snapshot(page, 'ledger-heads')

  await page.getByTestId('nav-node').click()
  await expect(page.getByTestId('node-height')).toHaveText(/^\d+$/)
  expect(Number(await page.getByTestId('node-height').textContent())).toBeGreaterThanOrEqual(height)
  await snapshot(page, 'node')
})

test.afterAll(() => {
  // Secrets that must never travel: the password, the keystores' sealed secrets and the
  // ID numbers of the people the tests handled.
  const sealed = s.actors.map((a) => JSON.parse(readFileSync(join(s.dir, a.keystore), 'utf8')).cipher.sealed as string)
  const secrets = [s.password, s.example, ...s.others, ...sealed, ...learned]
  expect(traffic.length).toBeGreaterThan(10)
  for (const r of traffic) {
    const text = `${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`
    for (const secret of secrets) expect(text.includes(secret), `a request to ${r.url} carries a secret`).toBe(false)
  }
  expect(consoleErrors).toEqual([])
})

test('the registrar grants in the browser, the request succeeds, withdraws, the next is refused; the timeline is the ledger\'s', async ({ page }) => {
  watch(page)
  const person = s.others[0]
  const home = s.actors.find((a) => a.name === 'care-home-1')!
  // Each request's receipt goes to the test's artefacts, not the working directory.
  let requests = 0
  const request = () =>
    cliStatus(s, ['assess', 'request', '--subject', person, '--model', 'admission-v1', '--key', keystore(s, 'care-home-1'), '--node', s.nodeUrl, '--wait',
      '--receipt', join('test-results', `registrar-receipt-${++requests}.json`)])

  // No consent yet: refused (exit 3).
  expect(request().code).toBe(3)

  await login(page, 'registrar')
  await expect(page.getByTestId('roles')).toContainText('登记员')
  await page.getByTestId('nav-consents').click()
  await page.getByTestId('id-number').fill(person)
  await page.getByTestId('grantee').fill(home.key_id)
  for (const c of ['ability_assessment', 'vital_signs', 'falls', 'screens', 'insurance_claims']) {
    await page.getByTestId(`category-${c}`).click()
  }
  await page.getByTestId('grant').click()
  await expect(page.getByTestId('message')).toContainText('已记录同意')
  const consent = await page.getByTestId('consent-id').inputValue()
  expect(consent).toMatch(/^[0-9a-f]{64}$/)
  await snapshot(page, 'consents')

  const granted = request()
  expect(granted.code, granted.out).toBe(0)
  const requestId = /request ([0-9a-f]{64})/.exec(granted.out)![1]

  await page.getByTestId('withdraw').click()
  await expect(page.getByTestId('message')).toContainText('已撤回同意')
  const refused = request()
  expect(refused.code, refused.out).toBe(3)

  // The timeline equals the ledger's list (as `weinong consent history` prints it).
  const history = cliStatus(s, ['consent', 'history', '--subject', person, '--key', keystore(s, 'registrar'), '--node', s.nodeUrl])
  expect(history.code, history.out).toBe(0)
  const count = Number(/: (\d+) recorded accesses/.exec(history.out)![1])
  expect(count).toBeGreaterThan(0)
  await page.getByTestId('nav-accesses').click()
  await page.getByTestId('subject').fill(person)
  await page.getByTestId('lookup').click()
  await expect(page.getByTestId('access-count')).toContainText(`共 ${count} 条访问记录`)
  const rows = page.getByTestId('accesses').locator('tbody tr')
  await expect(rows).toHaveCount(count)
  for (const text of await rows.allTextContents()) expect(text).toContain(requestId.slice(0, 16))
  await snapshot(page, 'accesses')

  // A malformed ID is refused in the page, before anything is sent.
  await page.getByTestId('subject').fill('31010419370515001X')
  await page.getByTestId('lookup').click()
  await expect(page.getByTestId('error')).toContainText('身份证号无效')
})

test('the care home requests an assessment in the browser: the report equals the CLI\'s, the receipt audits; no consent is refused in Chinese', async ({ page }) => {
  test.setTimeout(240_000)
  watch(page)
  const home = s.actors.find((a) => a.name === 'care-home-1')!
  const cliRequest = (person: string) =>
    cliStatus(s, ['assess', 'request', '--subject', person, '--model', 'admission-v1', '--key', keystore(s, 'care-home-1'), '--node', s.nodeUrl, '--wait',
      '--receipt', join('test-results', 'cli-receipt.json')])
  // The CLI's result first, for the first person (of those the truth files list in all
  // three departments) whose data every department node imported.
  let person = ''
  let cli = { code: -1, out: '' }
  for (const candidate of s.others.slice(1)) {
    const granted = cliStatus(s, ['consent', 'grant', '--subject', candidate, '--grantee', home.key_id, '--purpose', 'admission_assessment',
      '--categories', 'ability_assessment,vital_signs,falls,screens,insurance_claims', '--days', '30', '--key', keystore(s, 'registrar'), '--node', s.nodeUrl])
    expect(granted.code, granted.out).toBe(0)
    cli = cliRequest(candidate)
    if (cli.code === 0) {
      person = candidate
      break
    }
  }
  expect(person, cli.out).not.toBe('')
  // Someone the loop above did not reach: nobody recorded a consent for them.
  const unconsented = s.others[s.others.indexOf(person) + 1]
  expect(unconsented).toBeTruthy()

  await login(page, 'care-home-1')
  await expect(page.getByTestId('roles')).toContainText('养老机构')
  await page.getByTestId('nav-assess').click()
  await page.getByTestId('id-number').fill(person)
  // Before requesting: the consent the registrar recorded, shown as valid.
  await page.getByTestId('check-consent').click()
  await expect(page.getByTestId('consent-status')).toHaveAttribute('data-usable', '1')
  await expect(page.getByTestId('consent-status')).toContainText('有效')
  await page.getByTestId('request').click()
  await expect(page.getByTestId('report')).toBeVisible({ timeout: 60_000 })
  const requestId = (await page.getByTestId('request-id').textContent())!.trim()
  const ours = new Map<string, number>()
  for (const row of await page.getByTestId('outputs').locator('tbody tr').all()) {
    ours.set((await row.getAttribute('data-output'))!, Number(await row.getByTestId('value').textContent()))
  }
  expect(ours.size).toBe(8)
  await snapshot(page, 'assess-report')

  // The receipt the page gives opens the commitment the ledger holds (as the auditor checks it).
  const download = page.waitForEvent('download')
  await page.getByTestId('receipt').click()
  const receipt = join('test-results', 'console-receipt.json')
  await (await download).saveAs(receipt)
  learned.push(JSON.parse(readFileSync(receipt, 'utf8')).nonce as string)
  const bundle = join('test-results', 'console-bundle.json')
  const fetched = cliStatus(s, ['audit', 'request', requestId, '--key', keystore(s, 'auditor'), '--node', s.nodeUrl, '--out', bundle])
  expect(fetched.code, fetched.out).toBe(0)
  const audited = cliVerify(s, [bundle, '--receipt', receipt])
  expect(audited.find((l) => l.startsWith('FAILED')), audited.join('\n')).toBeUndefined()
  expect(audited.some((l) => /^ok\s+receipt:/.test(l)), audited.join('\n')).toBe(true)

  // The CLI's values for the same person, from the same data.
  const theirs = new Map<string, number>()
  for (const line of cli.out.split('\n')) {
    const m = /^\s+([a-z0-9_]+)\s+(-?\d+)\s/.exec(line)
    if (m && ours.has(m[1])) theirs.set(m[1], Number(m[2]))
  }
  expect(theirs).toEqual(ours)

  // Nobody consented for this one: the page says so before the request, and the refusal
  // says what to do, in Chinese.
  await page.getByTestId('id-number').fill(unconsented)
  await page.getByTestId('check-consent').click()
  await expect(page.getByTestId('consent-status')).toHaveAttribute('data-usable', '0')
  await expect(page.getByTestId('consent-status')).toContainText('没有该老人有效的入住评估同意')
  await page.getByTestId('request').click()
  await expect(page.getByTestId('error')).toContainText('没有有效的同意', { timeout: 60_000 })
  await snapshot(page, 'assess-refused')
})

test('admins bind a role 2-of-2 from two browsers: one approval alone does not commit, two do', async ({ browser }) => {
  // A new care home's key, made with the CLI; its keystore carries the public key.
  const newKey = join(s.root, 'new-care-home.json')
  const made = cliStatus(s, ['keys', 'new', '--out', newKey])
  expect(made.code, made.out).toBe(0)

  const first = await browser.newContext()
  const second = await browser.newContext()
  try {
    const a = await first.newPage()
    watch(a)
    await login(a, 'admin-1')
    await expect(a.getByTestId('roles')).toContainText('管理员')
    await a.getByTestId('nav-governance').click()
    await a.getByTestId('key-file').setInputFiles(newKey)
    await a.getByTestId('role-institution').click()
    await a.getByTestId('propose').click()
    await expect(a.getByTestId('approvals')).toContainText('已批准 1 / 需 2')
    // One approval is not enough: the contracts refuse it.
    await a.getByTestId('submit').click()
    await expect(a.getByTestId('error')).toContainText('账本拒绝了该变更')
    await snapshot(a, 'governance-one-approval')

    // The second admin finds it pending on the node: no file passes between them.
    const b = await second.newPage()
    watch(b)
    await login(b, 'admin-2')
    await b.getByTestId('nav-governance').click()
    await expect(b.getByTestId('pending').locator('tbody tr')).toHaveCount(1)
    await expect(b.getByTestId('pending')).toContainText('已批准 1 / 需 2')
    await b.getByTestId('open-pending').click()
    await expect(b.getByTestId('approvals')).toContainText('已批准 1 / 需 2')
    await b.getByTestId('approve').click()
    await expect(b.getByTestId('approvals')).toContainText('已批准 2 / 需 2')
    await b.getByTestId('submit').click()
    await expect(b.getByTestId('message')).toContainText('治理变更已生效')
    // Submitted: the ledger has passed its sequence number, so nothing is pending.
    await expect(b.getByTestId('pending').locator('tbody tr')).toHaveCount(0)
    await snapshot(b, 'governance-committed')

    // The new key now logs in as a care home.
    const c = await (await browser.newContext()).newPage()
    watch(c)
    await login(c, newKey)
    await expect(c.getByTestId('roles')).toContainText('养老机构')
  } finally {
    await first.close()
    await second.close()
  }
})

test('civil affairs\' operator runs a policy in the browser: the same list as the CLI\'s run, exported; an auditor sees the run, not the list', async ({ page }) => {
  test.setTimeout(240_000)
  watch(page)
  // The same policy through the CLI first: its count and list are the reference. The first
  // of civil affairs' list policies that matches someone in the devnet's data.
  let policy = ''
  let cliList = ''
  let cliCount = 0
  let cliRuns = 0
  for (const candidate of ['care-grade-without-ltc', 'aged-80-alone-dementia', 'centenarians']) {
    const cliRun = cli(s, ['policy', 'run', '--policy', candidate, '--key', s.nodeKeystore, '--node', s.nodeUrl])
    cliRuns += 1
    const cliRunId = /opening run ([0-9a-f]{64})/.exec(cliRun)![1]
    const cliCsv = join(s.root, `policy-cli-${candidate}.csv`)
    cli(s, ['policy', 'fetch', '--run', cliRunId, '--out', cliCsv, '--key', s.nodeKeystore, '--node', s.nodeUrl])
    policy = candidate
    cliList = readFileSync(cliCsv, 'utf8')
    cliCount = cliList.trim().split('\n').length - 1
    if (cliCount > 0) break
  }
  expect(cliCount, 'a civil affairs policy matches someone in the devnet').toBeGreaterThan(0)

  await login(page, s.nodeKeystore)
  await expect(page.getByTestId('roles')).toContainText('部门节点')
  await page.getByTestId('nav-policies').click()
  const table = page.getByTestId('policies')
  await expect(table.locator('[data-policy]')).toHaveCount(5)
  await expect(table).toContainText('长护险参保人员身故核对')
  await expect(table).toContainText('履行法定职责')
  // Civil affairs receives four policies; the death-register one is medical insurance's.
  await expect(page.locator('[data-testid^="run-"]').filter({ hasText: '开始匹配' })).toHaveCount(4)
  await expect(page.getByTestId('run-deceased-ltc-insured')).toHaveCount(0)

  await page.getByTestId(`run-${policy}`).click()
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'completed', { timeout: 120_000 })
  await expect(page.getByTestId('matched')).toHaveAttribute('data-count', String(cliCount))
  // Each department's access is on the ledger: civil affairs' and medical insurance's.
  await expect(page.getByTestId('run-accesses').locator('tbody tr')).toHaveCount(2)
  const read: Record<string, string> = { 'care-grade-without-ltc': '长护险', 'aged-80-alone-dementia': '医保结算', centenarians: '体征' }
  await expect(page.getByTestId('run-accesses')).toContainText(read[policy])
  await snapshot(page, 'policies')
  const download = page.waitForEvent('download')
  await page.getByTestId('export').click()
  const saved = join(s.root, 'policy-console.csv')
  await (await download).saveAs(saved)
  expect(readFileSync(saved, 'utf8')).toBe(cliList)
  await expect(page.getByTestId('runs').locator('tbody tr')).toHaveCount(cliRuns + 1)

  // The auditor: the runs and each department's access, no run button, no list.
  await page.getByTestId('logout').click()
  await login(page, 'auditor')
  await page.getByTestId('nav-policies').click()
  await expect(page.getByTestId('policies').locator('[data-policy]')).toHaveCount(5)
  await expect(page.locator('[data-testid^="run-"]').filter({ hasText: '开始匹配' })).toHaveCount(0)
  await page.getByTestId('runs').getByRole('button', { name: '详情' }).first().click()
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-status', 'completed')
  await expect(page.getByTestId('matched')).toHaveCount(0)
  await expect(page.getByTestId('export')).toHaveCount(0)
})

test('a remembered keystore logs in again with its password; the browser stores no password', async ({ page }) => {
  watch(page)
  await page.goto(s.consoleUrl)
  await page.getByTestId('keystore').setInputFiles(keystore(s, 'registrar'))
  await page.getByTestId('password').fill(s.password)
  await page.getByTestId('remember').click()
  await page.getByTestId('login').click()
  await expect(page.getByTestId('roles')).toContainText('登记员')
  // The keystore is stored before the page moves on to the home page.
  await expect(page.getByTestId('key-id')).toBeVisible()
  await page.getByTestId('logout').click()

  const name = keystore(s, 'registrar').split('/').pop()!
  await page.getByTestId(`saved-${name}`).click()
  await page.getByTestId('password').fill(s.password)
  await page.getByTestId('login').click()
  await expect(page.getByTestId('roles')).toContainText('登记员')
  const stored = await page.evaluate(
    () =>
      new Promise<string>((resolve, reject) => {
        const open = indexedDB.open('weinong-console', 1)
        open.onerror = () => reject(open.error)
        open.onsuccess = () => {
          const all = open.result.transaction('keystores').objectStore('keystores').getAll()
          all.onsuccess = () => resolve(JSON.stringify(all.result))
        }
      }),
  )
  expect(stored).toContain(name)
  expect(stored.includes(s.password)).toBe(false)
  await snapshot(page, 'login-remembered')
})

test('a console whose node is down says so in Chinese', async ({ page }) => {
  watch(page)
  // `weinong console` on its own, in front of a port nobody listens on.
  const server = spawn(s.weinong, ['console', '--node', 'http://127.0.0.1:9', '--listen', '127.0.0.1:27390'], { stdio: 'ignore' })
  try {
    await expect.poll(async () => (await fetch('http://127.0.0.1:27390/').catch(() => null))?.status ?? 0).toBe(200)
    const page404 = await fetch('http://127.0.0.1:27390/v1/node')
    expect(page404.status).toBe(502)
    expect((await page404.json()).code).toBe('node_unreachable')
    const index = await fetch('http://127.0.0.1:27390/')
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self' 'wasm-unsafe-eval'")
    consoleErrors.length = 0
    await page.goto('http://127.0.0.1:27390/')
    await expect(page.getByTestId('error')).toContainText('无法连接节点')
    // The browser logs the failed /v1/node load itself; that one is expected here.
    consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter((e) => !e.includes('502')))
    await snapshot(page, 'login-node-down')
  } finally {
    server.kill('SIGTERM')
  }
})
