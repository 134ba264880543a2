import { beforeEach, describe, expect, it } from 'vitest'
import { UserError } from '../src/action'
import {
  acceptList,
  checkImage,
  dataUrlToBase64,
  exampleImage,
  fromBase64,
  imageSize,
  isImageModel,
  loadImage,
  pngDataUrl,
  sniffFormat,
  toBase64,
} from '../src/image'
import { setLocale, t } from '../src/i18n'
import { imageModel, model, PNG_1X1, pngFile, pngHeader } from './helpers'

const LIMITS = { max_image_bytes: 1024, max_image_pixels: 10_000, image_formats: ['PNG', 'JPEG', 'GIF', 'BMP', 'WEBP'] }
const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0))

function bytesOf(...parts: (number[] | string)[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => (typeof part === 'string' ? ascii(part) : part)))
}

/** The message a check throws, translated. */
function refusal(check: () => unknown): string {
  try {
    check()
  } catch (error) {
    if (error instanceof UserError) return t(error.key, error.params)
    throw error
  }
  throw new Error('no refusal')
}

beforeEach(() => setLocale('en'))

describe('what a file is', () => {
  it('tells the formats by their first bytes, not by the name', () => {
    expect(sniffFormat(fromBase64(PNG_1X1))).toBe('PNG')
    expect(sniffFormat(bytesOf([0xff, 0xd8, 0xff, 0xe0]))).toBe('JPEG')
    expect(sniffFormat(bytesOf('GIF89a', [1, 0, 1, 0]))).toBe('GIF')
    expect(sniffFormat(bytesOf('RIFF', [0, 0, 0, 0], 'WEBPVP8 '))).toBe('WEBP')
    expect(sniffFormat(bytesOf('BM', new Array(30).fill(0)))).toBe('BMP')
    expect(sniffFormat(bytesOf('just some text, renamed .png'))).toBeNull()
    expect(sniffFormat(new Uint8Array(0))).toBeNull()
  })

  it('reads the width and height from each format’s header', () => {
    expect(imageSize(pngHeader(640, 480), 'PNG')).toEqual({ width: 640, height: 480 })
    expect(imageSize(bytesOf('GIF89a', [0x20, 0x01, 0x10, 0x00]), 'GIF')).toEqual({ width: 288, height: 16 })
    const bmp = new Uint8Array(26)
    new DataView(bmp.buffer).setInt32(18, 28, true)
    new DataView(bmp.buffer).setInt32(22, -28, true) // top-down rows: a negative height
    expect(imageSize(bmp, 'BMP')).toEqual({ width: 28, height: 28 })
    // an APP0 block first, then the start of frame: height 0x0100, width 0x0200
    const jpeg = bytesOf([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xc0, 0, 17, 8, 1, 0, 2, 0, 3])
    expect(imageSize(jpeg, 'JPEG')).toEqual({ width: 512, height: 256 })
    const webp = bytesOf('RIFF', [0, 0, 0, 0], 'WEBPVP8X', [10, 0, 0, 0, 0, 0, 0, 0], [99, 0, 0], [49, 0, 0])
    expect(imageSize(webp, 'WEBP')).toEqual({ width: 100, height: 50 })
    expect(imageSize(pngHeader(1, 1).subarray(0, 18), 'PNG')).toBeNull() // cut short
  })
})

describe('checkImage', () => {
  it('returns the format of an image the server will take', () => {
    expect(checkImage('a.png', 500, pngHeader(28, 28), LIMITS)).toBe('PNG')
  })

  it('refuses, naming the file and the limit, what the server would refuse', () => {
    expect(refusal(() => checkImage('notes.png', 20, bytesOf('hello, world'), LIMITS))).toBe(
      'notes.png is not an image this model can read (PNG, JPEG, GIF, BMP, WEBP).',
    )
    expect(refusal(() => checkImage('big.png', 3 * 1024 * 1024, pngHeader(1, 1), LIMITS))).toBe(
      'big.png weighs 3 MB; the limit is 1 KB.',
    )
    expect(refusal(() => checkImage('wide.png', 100, pngHeader(200, 100), LIMITS))).toBe(
      'wide.png has 200 × 100 pixels; the limit is 10,000 pixels.',
    )
    const pngOnly = { ...LIMITS, image_formats: ['PNG'] }
    expect(refusal(() => checkImage('cat.gif', 100, bytesOf('GIF89a', [1, 0, 1, 0]), pngOnly))).toBe(
      'cat.gif is a GIF image; this model reads PNG.',
    )
  })

  it('speaks French', () => {
    setLocale('fr')
    expect(refusal(() => checkImage('big.png', 1536, pngHeader(1, 1), LIMITS))).toBe('big.png pèse 1,5 Ko ; la limite est de 1 Ko.')
  })

  it('takes anything when the server states no limit', () => {
    const none = { max_image_bytes: null, max_image_pixels: null, image_formats: null }
    expect(checkImage('huge.png', 10 ** 9, pngHeader(10 ** 5, 10 ** 5), none)).toBe('PNG')
  })
})

describe('base64 and data URLs', () => {
  it('round-trips bytes, even past the chunk size', () => {
    const bytes = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) % 256)
    expect(fromBase64(toBase64(bytes))).toEqual(bytes)
  })

  it('strips the data: prefix for the API, and leaves bare base64 alone', () => {
    expect(dataUrlToBase64(`data:image/png;base64,${PNG_1X1}`)).toBe(PNG_1X1)
    expect(dataUrlToBase64(PNG_1X1)).toBe(PNG_1X1)
  })

  it('turns the server’s bare PNG base64 into something an <img> shows', () => {
    expect(pngDataUrl('iVBOR')).toBe('data:image/png;base64,iVBOR')
    expect(pngDataUrl('data:image/png;base64,iVBOR')).toBe('data:image/png;base64,iVBOR')
  })

  it('loads a file into a checked image with a data URL', async () => {
    const image = await loadImage(pngFile('seven.png'), LIMITS)
    expect(image).toEqual({ name: 'seven.png', format: 'PNG', bytes: 70, width: 1, height: 1, dataUrl: `data:image/png;base64,${PNG_1X1}` })
    const text = new File(['not a picture'], 'notes.png', { type: 'image/png' })
    await expect(loadImage(text, LIMITS)).rejects.toThrow(UserError)
  })

  it('makes an example image look like a chosen file', () => {
    expect(exampleImage({ label: '7', image: `data:image/png;base64,${PNG_1X1}` })).toMatchObject({ name: '7.png', format: 'PNG', width: 1 })
  })
})

describe('models and file inputs', () => {
  it('tells an image model by its task', () => {
    expect(isImageModel(imageModel())).toBe(true)
    expect(isImageModel(model())).toBe(false)
  })

  it('offers the accepted formats to the file chooser', () => {
    expect(acceptList(['PNG', 'JPEG'])).toBe('image/png,image/jpeg,.png,.jpg,.jpeg')
    expect(acceptList(null)).toContain('image/webp')
  })
})
