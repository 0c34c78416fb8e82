/** Counters of a lossy relay: datagrams forwarded and dropped each way. */
export interface RelayStats { up: number; down: number; droppedUp: number; droppedDown: number }
/** A running relay. */
export interface LossyRelay { port: number; stats: RelayStats; close(): Promise<void> }
/** Start a lossy UDP relay in front of `target`. */
export function startLossyRelay(o: { target: { host: string; port: number }; loss?: number; seed?: number; maxMs?: number }): Promise<LossyRelay>
