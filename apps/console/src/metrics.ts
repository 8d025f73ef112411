// The node's Prometheus text (`/metrics`), read into numbers by metric name (series with
// labels are summed; `weinong_leader_info`'s label is kept as the leader's key id).
export interface Metrics {
  values: Map<string, number>
  leader?: string
}

export function parseMetrics(text: string): Metrics {
  const values = new Map<string, number>()
  let leader: string | undefined
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line)
    if (!m) continue
    const [, name, labels, value] = m
    const n = Number(value)
    if (!Number.isFinite(n)) continue
    if (name === 'weinong_leader_info' && labels && n === 1) {
      leader = /key="([0-9a-f]+)"/.exec(labels)?.[1] ?? leader
    }
    if (name.endsWith('_bucket')) continue
    values.set(name, (values.get(name) ?? 0) + n)
  }
  return { values, leader }
}
