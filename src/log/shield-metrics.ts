/**
 * Prometheus metrics of a shield, read from the cache's own counters at scrape
 * time (collect callbacks), so the request path pays nothing for them.
 */
import { Gauge, type Registry } from 'prom-client'

/** What the shield metrics read. */
export interface ShieldStatsSource {
  collapser: { stats: { upstreamRequests: number; collapsed: number; busy: number; staleServed: number; failovers: number }; inFlight: number }
  memory: { bytes: number; count: number }
  disk: { bytes: number; count: number } | undefined
  prefetches: { started: number }
  inflight: { used: number; limit: number }
}

/** Register the shield's gauges on `registry`. */
export function registerShieldMetrics(registry: Registry, src: ShieldStatsSource): void {
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()) } })
  }
  const s = src.collapser.stats
  gauge('streamd_shield_upstream_requests', 'Requests sent upstream (counter semantics)', () => s.upstreamRequests)
  gauge('streamd_shield_collapsed_requests', 'Requests that joined a fill already in flight (counter semantics)', () => s.collapsed)
  gauge('streamd_shield_busy_refusals', 'Requests refused with 503 (waiting list full or waited too long) (counter semantics)', () => s.busy)
  gauge('streamd_shield_stale_served', 'Waiters answered with stale media because every upstream failed (counter semantics)', () => s.staleServed)
  gauge('streamd_shield_failovers', 'Upstream attempts beyond the first for one fill (counter semantics)', () => s.failovers)
  gauge('streamd_shield_prefetches', 'Preload-hinted parts fetched ahead of clients (counter semantics)', () => src.prefetches.started)
  gauge('streamd_shield_fills_in_flight', 'Upstream fills in flight', () => src.collapser.inFlight)
  gauge('streamd_shield_memory_bytes', 'Bytes charged to the memory tier', () => src.memory.bytes)
  gauge('streamd_shield_memory_entries', 'Entries in the memory tier', () => src.memory.count)
  gauge('streamd_shield_disk_bytes', 'Bytes in the disk tier', () => src.disk?.bytes ?? 0)
  gauge('streamd_shield_disk_entries', 'Files in the disk tier', () => src.disk?.count ?? 0)
  gauge('streamd_shield_inflight_bytes', 'Bytes of fills in flight charged to the in-flight budget (shield.inflightBytes)', () => src.inflight.used)
  gauge('streamd_shield_inflight_limit_bytes', 'The in-flight byte budget (shield.inflightBytes)', () => src.inflight.limit)
}
