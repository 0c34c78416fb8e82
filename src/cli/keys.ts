/**
 * `streamd keys add NAME | list | revoke NAME`: publish keys in the data dir's
 * database. Works while the server runs; the server reads keys per publish.
 */
import type { Command } from 'commander'
import { loadConfig } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { KeyStore } from '../store/keys.js'

interface KeyFlags {
  config?: string
  dataDir?: string
  rotate?: boolean
}

function configOf(flags: KeyFlags): Config {
  return loadConfig(flags.config, flags.dataDir !== undefined ? [{ dataDir: flags.dataDir }] : [])
}

function withStore<T>(flags: KeyFlags, fn: (store: KeyStore, config: Config) => T): T {
  const config = configOf(flags)
  const store = KeyStore.open(config.dataDir)
  try {
    return fn(store, config)
  } finally {
    store.close()
  }
}

/** The lines `keys add` prints: the secret once, then ready-to-paste publish settings. */
export function addedText(name: string, secret: string, config: Config): string {
  const host = config.rtmp.host === '0.0.0.0' || config.rtmp.host === '::' ? 'HOST' : config.rtmp.host
  const server = `rtmp://${host}:${config.rtmp.port}/live`
  return [
    `key: ${secret}`,
    '',
    `This secret is shown once; streamd keeps only its hash. It authorizes publishing live/${name}.`,
    `  publish URL: ${server}/${name}?key=${secret}`,
    `  OBS:         Server ${server}   Stream Key ${name}?key=${secret}`,
    `  backup:      ${server}/${name}?key=${secret}&role=backup   (OBS Stream Key ${name}?key=${secret}&role=backup)`,
    '',
  ].join('\n')
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')
}

/** Register `keys` and its subcommands on the program. */
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('publish keys (one per stream name), kept in the data dir')
  const common = (c: Command): Command => c
    .option('--config <file>', 'JSON config file (for dataDir and the RTMP port)')
    .option('--data-dir <dir>', 'data directory holding streamd.db')
  common(keys.command('add <name>'))
    .description('create the key of stream NAME and print its secret once')
    .option('--rotate', 'replace the current key of NAME (the old one stops working)')
    .action((name: string, flags: KeyFlags) => {
      withStore(flags, (store, config) => {
        const secret = store.add(name, { rotate: flags.rotate === true })
        process.stdout.write(addedText(name, secret, config))
      })
    })
  common(keys.command('list'))
    .description('list keys: name, created, revoked (never secrets)')
    .action((flags: KeyFlags) => {
      withStore(flags, (store) => {
        const all = store.list()
        if (all.length === 0) {
          console.log('no keys yet; add one with: streamd keys add NAME')
          return
        }
        const rows = all.map((k) => [k.name, k.createdAt.toISOString(), k.revokedAt ? k.revokedAt.toISOString() : '-'])
        console.log(table([['NAME', 'CREATED', 'REVOKED'], ...rows]))
      })
    })
  common(keys.command('revoke <name>'))
    .description('revoke the key of stream NAME; its next publish is refused')
    .action((name: string, flags: KeyFlags) => {
      withStore(flags, (store) => {
        store.revoke(name)
        console.log(`revoked the key of ${name}; a publisher already live keeps going until it reconnects (kick it with DELETE /api/v1/streams/${name})`)
      })
    })
}
