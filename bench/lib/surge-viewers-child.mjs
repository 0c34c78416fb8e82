/**
 * The synthetic audience of bench/surge, as its own process: viewers that behave
 * like hls.js in low-latency mode (a blocking playlist reload for the next part,
 * then that part; an ABR switch between renditions every ~10 s), ramping from 0
 * to --viewers over --ramp-s seconds, for --seconds in all. Reports errors and the
 * delay of each blocking reload after the part it asked for became available.
 * usage: node surge-viewers-child.mjs --port P --t0 MS --part-ms MS --viewers N --ramp-s S --seconds S
 */
import http from 'node:http'

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? Number(process.argv[i + 1]) : d }
const PORT = arg('port'); const T0 = arg('t0'); const PART_MS = arg('part-ms', 500)
const VIEWERS = arg('viewers', 100); const RAMP = arg('ramp-s', 10) * 1000; const SECONDS = arg('seconds', 30) * 1000
const PARTS = 4
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity })
const start = Date.now()
const end = start + SECONDS
const delays = []
const stats = { requests: 0, errors: 0, byStatus: {}, viewersStarted: 0 }

function get(path) {
  return new Promise((resolve) => {
    stats.requests++
    const req = http.get({ host: '127.0.0.1', port: PORT, path, agent, timeout: 15_000 }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode))
      res.on('error', () => resolve(0))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', () => resolve(0))
  })
}

async function viewer() {
  stats.viewersStarted++
  let rendition = Math.random() < 0.5 ? 'hi' : 'lo'
  let nextSwitch = Date.now() + 5000 + Math.random() * 10_000
  // Join at the live edge: the part being produced now.
  const n = Math.floor((Date.now() - T0) / PART_MS)
  let msn = Math.floor(n / PARTS)
  let part = n % PARTS
  while (Date.now() < end) {
    if (Date.now() > nextSwitch) {
      rendition = rendition === 'hi' ? 'lo' : 'hi'
      nextSwitch = Date.now() + 10_000
    }
    const s1 = await get(`/live/s/${rendition}/index.m3u8?_HLS_msn=${msn}&_HLS_part=${part}`)
    const availableAt = T0 + (msn * PARTS + part + 1) * PART_MS
    if (s1 === 200) delays.push(Date.now() - availableAt)
    const s2 = s1 === 200 ? await get(`/live/s/${rendition}/${msn}.${part}.m4s`) : s1
    for (const s of [s1, s2]) {
      stats.byStatus[s] = (stats.byStatus[s] ?? 0) + 1
      if (s !== 200) stats.errors++
    }
    if (s1 !== 200 || s2 !== 200) await new Promise((r) => setTimeout(r, 500))
    if (++part === PARTS) { part = 0; msn++ }
    // A viewer that fell behind rejoins at the live edge (a player would seek).
    const live = Math.floor((Date.now() - T0) / PART_MS)
    if (live - (msn * PARTS + part) > 6) { msn = Math.floor(live / PARTS); part = live % PARTS }
  }
}

const all = []
for (let i = 0; i < VIEWERS; i++) {
  all.push(new Promise((r) => setTimeout(r, (RAMP * i) / VIEWERS)).then(viewer))
}
await Promise.all(all)
delays.sort((a, b) => a - b)
const q = (p) => delays[Math.min(delays.length - 1, Math.max(0, Math.ceil(p * delays.length) - 1))] ?? NaN
console.log(JSON.stringify({ ...stats, reloads: delays.length, delayP50: q(0.5), delayP99: q(0.99), delayMax: delays.at(-1) ?? NaN }))
agent.destroy()
