// The console's text: zh-CN first (the people who use it), English second. Error texts say
// what to do, keyed by the closed codes of the node's API and of the console's WebAssembly.
import { createI18n } from 'vue-i18n'

const zh = {
  app: { title: '为侬控制台', subtitle: '养老服务可信数据层', logout: '退出登录', language: 'English' },
  nav: { home: '首页', audit: '审计核验', ledger: '账本浏览', node: '节点运维', consents: '同意登记', accesses: '访问记录' },
  role: {
    admin: '管理员', auditor: '审计员', department: '部门节点', institution: '养老机构',
    registrar: '登记员', steward: '数据管理员', none: '无角色',
  },
  login: {
    title: '登录', keystore: '密钥库文件', choose: '选择密钥库文件…', chosen: '已选择：{name}',
    password: '密码', submit: '登录', opening: '正在本机解密密钥库（约需数秒）…',
    privacy: '密钥库在本浏览器内解密，私钥与密码不会发送给任何服务器。',
    node: '所连节点', consortium: '联盟标识', noFile: '请先选择密钥库文件。', noPassword: '请输入密码。',
  },
  home: {
    welcome: '欢迎', key: '密钥标识', roles: '角色', nodeName: '节点名称',
    pick: '请从左侧菜单选择要进行的工作。',
  },
  audit: {
    title: '审计核验', byId: '按请求编号获取', byFile: '核验本地文件', requestId: '评估请求编号（64位十六进制）',
    fetch: '获取并核验', bundleFile: '证据包文件（JSON）', genesisFile: '创世文件（可选，用于锁定联盟）',
    receiptFile: '回执文件（可选，核对结果承诺）', verify: '核验', choose: '选择文件…',
    verifying: '正在浏览器内核验…', holds: '全部检查通过', fails: '核验未通过：{name}',
    check: '检查项', outcome: '结果', detail: '说明', evidence: '证据', ok: '通过', failed: '未通过',
    na: '不适用', download: '下载证据包', cliLines: '与命令行 weinong audit verify 相同的输出',
    request: '请求', checks: '共 {n} 项检查', transactions: '交易', heights: '区块高度', keys: '密钥', hashes: '哈希',
    badId: '请求编号应为64位十六进制字符。', time: '浏览器内核验耗时 {ms} 毫秒',
  },
  ledger: {
    title: '账本浏览', latest: '最新区块', height: '高度', hash: '区块哈希', previous: '上一区块',
    time: '出块时间', proposer: '提议者', logSize: '日志条目数', logRoot: '日志根', state: '状态摘要',
    signatures: '联签数', go: '查看', treeHead: '联签树头', refresh: '刷新', byHeight: '按高度查看区块',
  },
  node: {
    title: '节点运维', name: '节点', key: '节点密钥', healthy: '运行状态', ready: '就绪状态', height: '账本高度',
    peers: '对等节点', leader: '共识领导者', term: 'Raft 任期', members: '成员数', voters: '投票节点',
    committed: '已提交交易', latency: '提交延迟（平均）', assessments: '已完成评估', lag: '落后条目',
    yes: '是', no: '否', unknown: '未知', refreshed: '每5秒刷新；上次刷新 {time}', history: '高度变化（最近 {n} 次采样）',
  },
  consent: {
    title: '同意登记', grant: '登记同意', withdraw: '撤回同意', idNumber: '身份证号（仅在本机处理，不发送明文）',
    grantee: '被授权机构密钥标识（64位十六进制）', purpose: '使用目的', categories: '数据类别', days: '有效天数',
    submit: '登记同意', withdrawSubmit: '撤回', consentId: '同意编号（64位十六进制）',
    granted: '已记录同意 {consent}（区块 {height}）', withdrawn: '已撤回同意 {consent}（区块 {height}）',
    rejected: '账本拒绝了该交易：{reason}', pending: '正在提交到联盟账本…', badDays: '有效天数应为1至3650天。',
  },
  access: {
    title: '个人数据访问记录', lookup: '查询', idNumber: '身份证号（仅在本机处理，不发送明文）', none: '账本上没有此人的数据访问记录。',
    time: '时间', height: '区块', department: '访问部门', categories: '数据类别', request: '评估请求', consent: '依据的同意',
    print: '打印给本人', count: '共 {n} 条访问记录（截至账本时间 {time}）', truncated: '记录过多，仅显示前 {n} 条。',
    policy: '免申即享政策匹配：{name}（法律依据：{basis}，区块 {height}）', node: '成员节点 {n}',
    holder: { civil: '民政', health: '卫健', insurance: '医保' },
  },
  purpose: {
    admission_assessment: '入住评估', periodic_assessment: '定期评估', subsidy_income_check: '补贴收入核对',
    eligibility_push: '免申即享', supervision: '服务监管',
  },
  category: {
    ability_assessment: '能力评估', household_income: '家庭收入', subsidies: '补贴', vital_signs: '体征',
    diagnoses: '诊断', falls: '跌倒', screens: '筛查', insurance_claims: '医保结算', hospital_stays: '住院', medications: '用药',
  },
  errors: {
    wrong_password: '密码错误，或密钥库文件被改动。请核对密码后重试。',
    not_a_keystore: '所选文件不是为侬密钥库。请选择 weinong keys new 生成的 JSON 文件。',
    not_a_bundle: '所给内容不是请求证据包。请选择 weinong audit request 导出的 JSON 文件。',
    no_role: '此密钥在账本上没有任何角色。请联系管理员为其绑定角色。',
    node_unreachable: '无法连接节点。请检查节点是否运行、网络是否通畅，稍后重试。',
    forbidden: '此密钥的角色无权进行该操作。',
    not_found: '未找到：{message}',
    bad_signature: '请求签名未通过节点验证。请重新登录后重试。',
    unknown_key: '节点不认识此密钥。请确认密钥已在账本上登记。',
    consent_withdrawn: '该同意已被撤回，不能再据此访问数据。',
    consent_expired: '该同意已过期。请由登记员重新登记同意。',
    no_such_request: '账本上没有此请求编号。请核对编号后重试。',
    no_such_block: '账本上还没有这个高度的区块。',
    stale_request: '本机时间与节点时钟相差过大。请校准本机时间后重试。',
    overloaded: '节点繁忙，请稍后重试。',
    bad_id: '身份证号无效：请核对18位号码与校验位。',
    bad_form: '表单有误：{message}',
    oprf: '节点返回的假名结果无法使用，请联系节点运维：{message}',
    bad_scope: '节点返回的联盟或节点标识格式有误，请联系节点运维。',
    sign: '无法对请求签名：{message}',
    internal: '控制台内部错误：{message}',
    other: '操作失败（{code}）：{message}',
  },
}

type Messages = typeof zh

const en: Messages = {
  app: { title: 'Weinong console', subtitle: 'Trusted data layer of elderly care', logout: 'Log out', language: '中文' },
  nav: { home: 'Home', audit: 'Audit', ledger: 'Ledger', node: 'Node operations', consents: 'Consents', accesses: 'Access history' },
  role: {
    admin: 'Admin', auditor: 'Auditor', department: 'Department node', institution: 'Care home',
    registrar: 'Registrar', steward: 'Data steward', none: 'No role',
  },
  login: {
    title: 'Log in', keystore: 'Keystore file', choose: 'Choose a keystore…', chosen: 'Chosen: {name}',
    password: 'Password', submit: 'Log in', opening: 'Opening the keystore in this browser (a few seconds)…',
    privacy: 'The keystore is opened in this browser; the private key and the password are sent to no server.',
    node: 'Node', consortium: 'Consortium', noFile: 'Choose a keystore file first.', noPassword: 'Type the password.',
  },
  home: {
    welcome: 'Welcome', key: 'Key id', roles: 'Roles', nodeName: 'Node',
    pick: 'Pick a task from the menu.',
  },
  audit: {
    title: 'Audit', byId: 'Fetch by request id', byFile: 'Verify a file', requestId: 'Assessment request id (64 hex)',
    fetch: 'Fetch and verify', bundleFile: 'Bundle file (JSON)', genesisFile: 'Genesis file (optional: pins the consortium)',
    receiptFile: 'Receipt (optional: checks the result commitment)', verify: 'Verify', choose: 'Choose a file…',
    verifying: 'Verifying in the browser…', holds: 'Every check holds', fails: 'Verification failed: {name}',
    check: 'Check', outcome: 'Outcome', detail: 'Detail', evidence: 'Evidence', ok: 'holds', failed: 'FAILED',
    na: 'not applicable', download: 'Download the bundle', cliLines: 'The lines weinong audit verify prints',
    request: 'Request', checks: '{n} checks', transactions: 'transactions', heights: 'heights', keys: 'keys', hashes: 'hashes',
    badId: 'A request id is 64 hex characters.', time: 'Verified in the browser in {ms} ms',
  },
  ledger: {
    title: 'Ledger', latest: 'Latest block', height: 'Height', hash: 'Block hash', previous: 'Previous',
    time: 'Time', proposer: 'Proposer', logSize: 'Log entries', logRoot: 'Log root', state: 'State digest',
    signatures: 'Signatures', go: 'Show', treeHead: 'Co-signed tree head', refresh: 'Refresh', byHeight: 'Block by height',
  },
  node: {
    title: 'Node operations', name: 'Node', key: 'Node key', healthy: 'Healthy', ready: 'Ready', height: 'Height',
    peers: 'Peers', leader: 'Raft leader', term: 'Raft term', members: 'Members', voters: 'Voters',
    committed: 'Committed transactions', latency: 'Commit latency (mean)', assessments: 'Assessments computed', lag: 'Lag (entries)',
    yes: 'yes', no: 'no', unknown: 'unknown', refreshed: 'Refreshed every 5 s; last at {time}', history: 'Height (last {n} samples)',
  },
  consent: {
    title: 'Consents', grant: 'Grant a consent', withdraw: 'Withdraw a consent', idNumber: 'ID number (handled in this browser only)',
    grantee: 'Grantee key id (64 hex)', purpose: 'Purpose', categories: 'Data categories', days: 'Valid for (days)',
    submit: 'Grant', withdrawSubmit: 'Withdraw', consentId: 'Consent id (64 hex)',
    granted: 'Consent {consent} recorded (block {height})', withdrawn: 'Consent {consent} withdrawn (block {height})',
    rejected: 'The ledger refused the transaction: {reason}', pending: 'Submitting to the consortium ledger…', badDays: 'Days must be 1 to 3650.',
  },
  access: {
    title: 'Access history', lookup: 'Look up', idNumber: 'ID number (handled in this browser only)', none: 'The ledger records no access to this person\u2019s data.',
    time: 'Time', height: 'Block', department: 'Department', categories: 'Categories', request: 'Request', consent: 'Consent',
    print: 'Print for the person', count: '{n} accesses (ledger time {time})', truncated: 'More accesses exist; the first {n} are shown.',
    policy: 'Policy match: {name} (legal basis: {basis}, block {height})', node: 'member node {n}',
    holder: { civil: 'Civil affairs', health: 'Health', insurance: 'Medical insurance' },
  },
  purpose: {
    admission_assessment: 'admission assessment', periodic_assessment: 'periodic assessment', subsidy_income_check: 'subsidy income check',
    eligibility_push: 'eligibility push', supervision: 'supervision',
  },
  category: {
    ability_assessment: 'ability assessment', household_income: 'household income', subsidies: 'subsidies', vital_signs: 'vital signs',
    diagnoses: 'diagnoses', falls: 'falls', screens: 'screens', insurance_claims: 'insurance claims', hospital_stays: 'hospital stays', medications: 'medications',
  },
  errors: {
    wrong_password: 'Wrong password, or the keystore was altered. Check the password and try again.',
    not_a_keystore: 'This file is not a Weinong keystore. Choose the JSON file weinong keys new wrote.',
    not_a_bundle: 'This is not a request bundle. Choose the JSON file weinong audit request wrote.',
    no_role: 'This key holds no role on the ledger. Ask an admin to bind one.',
    node_unreachable: 'The node cannot be reached. Check that it runs and the network, then retry.',
    forbidden: 'This key\u2019s roles may not do that.',
    not_found: 'Not found: {message}',
    bad_signature: 'The node refused the request\u2019s signature. Log in again and retry.',
    unknown_key: 'The node does not know this key. Check that it is registered on the ledger.',
    consent_withdrawn: 'The consent was withdrawn; data can no longer be accessed under it.',
    consent_expired: 'The consent has expired. A registrar must record a new one.',
    no_such_request: 'The ledger holds no request with this id. Check the id.',
    no_such_block: 'The ledger has no block at this height yet.',
    stale_request: 'This computer\u2019s clock is too far from the node\u2019s. Set the time and retry.',
    overloaded: 'The node is busy; retry shortly.',
    bad_id: 'Not a valid ID number: check the 18 characters and the check digit.',
    bad_form: 'The form is wrong: {message}',
    oprf: 'The node\u2019s pseudonym answer is unusable; tell its operator: {message}',
    bad_scope: 'The node named its consortium or key badly; tell its operator.',
    sign: 'Cannot sign the request: {message}',
    internal: 'Console error: {message}',
    other: 'Failed ({code}): {message}',
  },
}

export const i18n = createI18n({
  legacy: false,
  locale: 'zh-CN',
  fallbackLocale: 'en',
  messages: { 'zh-CN': zh, en },
})
