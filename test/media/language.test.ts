import t from 'tap'
import { bcp47Language, iso639T } from '../../src/media/language.js'

t.test('ISO 639-2 B and T codes map to the same BCP 47 tag, the ISO 639-1 code', async (t) => {
  // The 20 ISO 639-2 pairs whose bibliographic and terminology codes differ.
  const pairs: Array<[string, string, string]> = [
    ['alb', 'sqi', 'sq'], ['arm', 'hye', 'hy'], ['baq', 'eus', 'eu'], ['bur', 'mya', 'my'], ['chi', 'zho', 'zh'],
    ['cze', 'ces', 'cs'], ['dut', 'nld', 'nl'], ['fre', 'fra', 'fr'], ['geo', 'kat', 'ka'], ['ger', 'deu', 'de'],
    ['gre', 'ell', 'el'], ['ice', 'isl', 'is'], ['mac', 'mkd', 'mk'], ['mao', 'mri', 'mi'], ['may', 'msa', 'ms'],
    ['per', 'fas', 'fa'], ['rum', 'ron', 'ro'], ['slo', 'slk', 'sk'], ['tib', 'bod', 'bo'], ['wel', 'cym', 'cy'],
  ]
  for (const [b, tCode, tag] of pairs) {
    t.equal(bcp47Language(b), tag, `${b} (B) → ${tag}`)
    t.equal(bcp47Language(tCode), tag, `${tCode} (T) → ${tag}`)
    t.equal(iso639T(b), tCode, `${b} compares as ${tCode}`)
    t.equal(iso639T(tCode), tCode, `${tCode} stays`)
  }
})

t.test('codes with one form map to their two-letter code', async (t) => {
  for (const [code, tag] of [['eng', 'en'], ['hin', 'hi'], ['tam', 'ta'], ['spa', 'es'], ['jpn', 'ja'], ['rus', 'ru'], ['swa', 'sw'], ['yor', 'yo'], ['kor', 'ko']]) {
    t.equal(bcp47Language(code), tag, `${code} → ${tag}`)
  }
  t.equal(bcp47Language('FRE'), 'fr', 'upper case is read as lower case')
})

t.test('codes without a two-letter code keep their three letters', async (t) => {
  for (const code of ['haw', 'fil', 'chr', 'und', 'mul', 'mis', 'zxx', 'qaa', 'yue']) {
    t.equal(bcp47Language(code), code, code)
    t.equal(iso639T(code), code, `${code} compares as itself`)
  }
})

t.test('malformed codes are und', async (t) => {
  for (const code of [undefined, '', 'en', 'e1g', 'engl', 'en-US', '\u00e9ng']) {
    t.equal(bcp47Language(code), 'und', JSON.stringify(code))
  }
})
