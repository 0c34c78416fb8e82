import t from 'tap'
import { el, serialize, textEl } from '../../../src/formats/dash/xml.js'

t.test('text content: escaped, and an element with text has no child elements', async (t) => {
  const doc = serialize(el('AdaptationSet', { id: 1 }, [textEl('Label', { lang: 'en' }, 'Tom & "Jerry" <live>'), el('Role', { value: 'main' })]))
  t.equal(doc, [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<AdaptationSet id="1">',
    '  <Label lang="en">Tom &amp; &quot;Jerry&quot; &lt;live&gt;</Label>',
    '  <Role value="main"/>',
    '</AdaptationSet>',
    '',
  ].join('\n'))
  t.equal(serialize(textEl('Label', {}, '')), '<?xml version="1.0" encoding="UTF-8"?>\n<Label></Label>\n', 'empty text is still text')
  t.throws(() => serialize(textEl('Label', {}, 'bell \u0007')), RangeError, 'control characters are refused')
})
