// Images for an image model: what a file is (by its first bytes, not its name), whether the server
// will take it (format, bytes, pixels against the limits GET /models states), and the base64 the API reads.
import { UserError } from './action'
import type { ImageExample, ImageLimits, ModelPublic } from './api'
import { bytes as formatBytes } from './format'

export const IMAGE_FORMATS = ['PNG', 'JPEG', 'WEBP', 'GIF', 'BMP'] as const
export type ImageFormat = (typeof IMAGE_FORMATS)[number]
const MIME: Record<ImageFormat, string> = {
  PNG: 'image/png',
  JPEG: 'image/jpeg',
  WEBP: 'image/webp',
  GIF: 'image/gif',
  BMP: 'image/bmp',
}
const HEADER_BYTES = 64 * 1024 // enough for a JPEG's size marker after its EXIF block, usually

/** An image ready to send: its file name, format, size and pixels, and a data URL (preview and request). */
export interface LoadedImage {
  name: string
  format: ImageFormat
  bytes: number
  width: number | null
  height: number | null
  dataUrl: string
}

export function isImageModel(model: Pick<ModelPublic, 'task'>): boolean {
  return model.task === 'image-classification'
}

/** The image limits of a model (null when the server states none). */
export function imageLimits({ limits }: ModelPublic): ImageLimits {
  return { max_image_bytes: limits.max_image_bytes, max_image_pixels: limits.max_image_pixels, image_formats: limits.image_formats }
}

/** What `<input type="file" accept>` offers: the formats' MIME types and extensions. */
export function acceptList(formats: readonly string[] | null): string {
  const known = (formats ?? IMAGE_FORMATS).filter((f): f is ImageFormat => f in MIME)
  const extensions = known.flatMap((f) => (f === 'JPEG' ? ['.jpg', '.jpeg'] : [`.${f.toLowerCase()}`]))
  return [...known.map((f) => MIME[f]), ...extensions].join(',')
}

function startsWith(bytes: Uint8Array, signature: number[] | string, at = 0): boolean {
  const codes = typeof signature === 'string' ? [...signature].map((c) => c.charCodeAt(0)) : signature
  return codes.every((code, i) => bytes[at + i] === code)
}

/** The format a file's first bytes say it is; null for anything else (a text renamed .png, say). */
export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'PNG'
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'JPEG'
  if (startsWith(bytes, 'GIF87a') || startsWith(bytes, 'GIF89a')) return 'GIF'
  if (startsWith(bytes, 'RIFF') && startsWith(bytes, 'WEBP', 8)) return 'WEBP'
  if (startsWith(bytes, 'BM') && bytes.length >= 26) return 'BMP'
  return null
}

function jpegSize(view: DataView): { width: number; height: number } | null {
  let at = 2
  while (at + 9 < view.byteLength) {
    if (view.getUint8(at) !== 0xff) return null
    const marker = view.getUint8(at + 1)
    if (marker === 0xff) {
      at += 1 // fill byte
      continue
    }
    // start-of-frame markers (C0-CF but C4, C8, CC) hold the height, then the width
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      return { height: view.getUint16(at + 5), width: view.getUint16(at + 7) }
    }
    at += 2 + view.getUint16(at + 2)
  }
  return null
}

function webpSize(view: DataView, bytes: Uint8Array): { width: number; height: number } | null {
  if (bytes.length < 30) return null
  if (startsWith(bytes, 'VP8 ', 12)) return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff }
  if (startsWith(bytes, 'VP8L', 12)) {
    const bits = view.getUint32(21, true)
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 }
  }
  if (startsWith(bytes, 'VP8X', 12)) {
    const u24 = (at: number) => view.getUint16(at, true) | (view.getUint8(at + 2) << 16)
    return { width: u24(24) + 1, height: u24(27) + 1 }
  }
  return null
}

/** Width and height from the file's header; null when it is cut short or unusual (the server still checks). */
export function imageSize(bytes: Uint8Array, format: ImageFormat): { width: number; height: number } | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  try {
    switch (format) {
      case 'PNG':
        return { width: view.getUint32(16), height: view.getUint32(20) }
      case 'GIF':
        return { width: view.getUint16(6, true), height: view.getUint16(8, true) }
      case 'BMP':
        return { width: Math.abs(view.getInt32(18, true)), height: Math.abs(view.getInt32(22, true)) }
      case 'JPEG':
        return jpegSize(view)
      case 'WEBP':
        return webpSize(view, bytes)
    }
  } catch {
    return null // a header shorter than it claims: RangeError
  }
}

function checkSize(name: string, size: number, limits: ImageLimits): void {
  if (limits.max_image_bytes != null && size > limits.max_image_bytes) {
    throw new UserError('image.tooLarge', { name, size: formatBytes(size), max: formatBytes(limits.max_image_bytes) })
  }
}

/** Throws the reason, in the user's language, when the server would refuse this image; else its format. */
export function checkImage(name: string, size: number, header: Uint8Array, limits: ImageLimits): ImageFormat {
  checkSize(name, size, limits)
  const accepted = limits.image_formats ?? [...IMAGE_FORMATS]
  const format = sniffFormat(header)
  if (!format) throw new UserError('image.notImage', { name, formats: accepted.join(', ') })
  if (!accepted.includes(format)) throw new UserError('image.format', { name, format, formats: accepted.join(', ') })
  const pixels = imageSize(header, format)
  if (pixels && limits.max_image_pixels != null && pixels.width * pixels.height > limits.max_image_pixels) {
    throw new UserError('image.tooManyPixels', { name, width: pixels.width, height: pixels.height, max: limits.max_image_pixels })
  }
  return format
}

export function toBase64(bytes: Uint8Array): string {
  let binary = ''
  const CHUNK = 0x8000 // String.fromCharCode takes its arguments on the stack
  for (let at = 0; at < bytes.length; at += CHUNK) binary += String.fromCharCode(...bytes.subarray(at, at + CHUNK))
  return btoa(binary)
}

export function fromBase64(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
}

/** The base64 payload of a data URL (a bare base64 string is returned as it is). */
export function dataUrlToBase64(value: string): string {
  const match = /^data:[^,]*;base64,/i.exec(value)
  return match ? value.slice(match[0].length) : value
}

/** A PNG the server sent as bare base64 (an explanation's heatmap), as something an <img> shows. */
export function pngDataUrl(base64: string): string {
  return base64.startsWith('data:') ? base64 : `data:image/png;base64,${base64}`
}

/** Reads and checks a file the user chose, dropped or pasted. */
export async function loadImage(file: File, limits: ImageLimits): Promise<LoadedImage> {
  const name = file.name || 'image'
  checkSize(name, file.size, limits) // before reading: a huge file need not be read at all
  const content = new Uint8Array(await file.arrayBuffer())
  const format = checkImage(name, file.size, content.subarray(0, HEADER_BYTES), limits)
  const size = imageSize(content.subarray(0, HEADER_BYTES), format)
  const dataUrl = `data:${MIME[format]};base64,${toBase64(content)}`
  return { name, format, bytes: file.size, width: size?.width ?? null, height: size?.height ?? null, dataUrl }
}

/** One of the model's example images, as if the user had chosen it. */
export function exampleImage(example: ImageExample): LoadedImage {
  const content = fromBase64(dataUrlToBase64(example.image))
  const format = sniffFormat(content) ?? 'PNG'
  const size = imageSize(content, format)
  const dataUrl = example.image.startsWith('data:') ? example.image : `data:${MIME[format]};base64,${example.image}`
  return { name: `${example.label}.${format.toLowerCase()}`, format, bytes: content.length, width: size?.width ?? null, height: size?.height ?? null, dataUrl }
}
