import t from 'tap'
import { checkSlateSpec, slateArgs, slateLabel, SlateError, type SlateSpec } from '../../src/transcode/slate-spec.js'
import { audioSpecificConfig } from '../../src/formats/mpegts/adts.js'

/** AudioSpecificConfig of AAC-LC at the rate index and channel configuration given. */
const asc = (rateIndex: number, channelConfig: number): Buffer => audioSpecificConfig({ objectType: 2, rateIndex, channelConfig })
const base: SlateSpec = { width: 640, height: 360, fps: 30, streamName: 'cam1', image: null }

t.test('a good spec: frames = fps × seconds, audio from the AudioSpecificConfig', async (t) => {
  t.same(checkSlateSpec({ ...base, audioConfig: asc(3, 2) }), {
    width: 640, height: 360, fps: 30, seconds: 1, frames: 30, audio: { sampleRate: 48000, channels: 2 }, label: 'cam1', image: null,
  })
  t.equal(checkSlateSpec({ ...base, fps: 25, seconds: 2 }).frames, 50)
  t.equal(checkSlateSpec({ ...base, fps: 29.97 }).frames, 30, '29.97 fps: a whole number of frames per loop')
  t.same(checkSlateSpec({ ...base, audioConfig: asc(4, 1) }).audio, { sampleRate: 44100, channels: 1 })
  // HE-AAC (object type 5) with explicit SBR at 44.1 kHz output: the silence is LC at the output rate.
  t.same(checkSlateSpec({ ...base, audioConfig: Buffer.from([0x2b, 0x92, 0x08, 0x00]) }).audio, { sampleRate: 44100, channels: 2 })
})

t.test('a bad spec is a SlateError naming the field', async (t) => {
  const bad: Array<[Partial<SlateSpec>, RegExp]> = [
    [{ width: 0, height: 0 }, /width 0/],
    [{ height: 0 }, /height 0/],
    [{ width: 641 }, /width 641 is not an even integer/],
    [{ width: 10_000 }, /width 10000/],
    [{ width: 640.5 }, /width 640.5/],
    [{ fps: 0 }, /fps 0/],
    [{ fps: Number.NaN }, /fps NaN/],
    [{ fps: 1000 }, /fps 1000/],
    [{ seconds: 0 }, /seconds 0/],
    [{ seconds: 60 }, /seconds 60/],
    [{ audioConfig: asc(3, 0) }, /0 audio channels/],
    [{ audioConfig: Buffer.from([0x12]) }, /AudioSpecificConfig cannot be read/],
    [{ audioConfig: asc(13, 2) }, /sample rate 0 Hz/],
    [{ image: '' }, /image/],
  ]
  for (const [change, why] of bad) t.throws(() => checkSlateSpec({ ...base, ...change }), { name: 'SlateError', message: why }, JSON.stringify(change))
  t.type(new SlateError('x').code, 'string')
  t.equal(new SlateError('x').code, 'ERR_SLATE')
})

t.test('the label keeps what drawtext prints literally', async (t) => {
  t.equal(slateLabel('cam-1_main.v2'), 'cam-1_main.v2')
  t.equal(slateLabel("it's 100%: {x}\\"), 'it_s 100__ _x__')
  t.equal(slateLabel('x'.repeat(100)).length, 64)
})

t.test('FFmpeg arguments: one closed GOP of the clip, no B-frames, FLV on stdout', async (t) => {
  const s = checkSlateSpec({ ...base, fps: 25, seconds: 2, audioConfig: asc(4, 1) })
  const args = slateArgs(s, { kind: 'card', text: true, fontFile: '/fonts/Sans.ttf' })
  const value = (flag: string): string | undefined => args[args.indexOf(flag) + 1]
  t.match(value('-vf'), /,trim=end_frame=50$/, 'exactly fps × seconds frames')
  t.notOk(args.includes('-frames:v'), 'no -frames limit: it would end the audio with the video')
  t.equal(value('-g'), '50', 'the only key frame is the first')
  t.equal(value('-keyint_min'), '50')
  t.equal(value('-bf'), '0')
  t.equal(value('-ar'), '44100')
  t.equal(value('-ac'), '1')
  t.match(args.join(' '), /anullsrc=r=44100:cl=mono/)
  t.match(value('-vf'), /drawtext=fontfile=\/fonts\/Sans\.ttf:text='cam1'/)
  t.match(value('-vf'), /text='back shortly'/)
  t.same(args.slice(-3), ['-f', 'flv', 'pipe:1'])
  const plain = slateArgs(s, { kind: 'card', text: false })
  t.notMatch(plain.join(' '), /drawtext/, 'the plain card draws no text')
  const noAudio = slateArgs(checkSlateSpec(base), { kind: 'card', text: true })
  t.notMatch(noAudio.join(' '), /anullsrc|-c:a/, 'no audio without an AudioSpecificConfig')
  t.notMatch(noAudio.join(' '), /fontfile/, 'no font file: fontconfig chooses')
})

t.test('an image slate reads the picture from stdin: no path reaches FFmpeg', async (t) => {
  const s = checkSlateSpec({ ...base, image: '/srv/slate %d.png' })
  const args = slateArgs(s, { kind: 'image' })
  t.notMatch(args.join(' '), /slate %d/)
  t.equal(args[args.indexOf('-i') + 1], 'pipe:0')
  t.ok(args.indexOf('-max_pixels') >= 0 && args.indexOf('-max_pixels') < args.indexOf('-i'), 'a decoder limit on the picture size, before the input')
  t.equal(args[args.indexOf('-max_pixels') + 1], String(8192 * 8192))
  t.match(args[args.indexOf('-vf') + 1], /^loop=loop=-1:size=1,scale=640:360:force_original_aspect_ratio=decrease,pad=640:360/)
})
