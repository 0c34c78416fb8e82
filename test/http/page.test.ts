import t from 'tap'
import { renderPage } from '../../src/http/page.js'

t.test('with no stream live, the page tells how to publish to a closed server', async (t) => {
  const html = renderPage([])
  // Publishing is closed by default: a URL without a key would be refused.
  t.match(html, /streamd keys add NAME/, 'how to create a key')
  t.match(html, /rtmp:\/\/HOST:1935\/live\/NAME\?key=SECRET/, 'the publish URL carries the key')
  t.notMatch(html, /rtmp:\/\/HOST:1935\/live\/NAME[^?]/, 'no key-less publish URL')
})

t.test('the inline script repeats no comment line', async (t) => {
  const script = /<script>\n([^]*?)<\/script>/.exec(renderPage([]))![1]!.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('//'))
  const repeated = script.filter((l, i) => i > 0 && l === script[i - 1])
  t.same(repeated, [], 'no comment line follows itself')
})
