// End to end: the real app (app.py, the shipped text model served twice to get a model picker, and the
// shipped image model) behind a proxy sub-path with an API key, and the built client at /proxy/app/, driven
// in Debian's Chromium. Without models/digits-vit, a tiny random ViT stands in: its answers are checked for
// shape, not for the right digit. Needs `npm run build` first; screenshots of each view go to
// e2e/screenshots/ (or $E2E_SCREENSHOTS).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { CLIENT, checkBrowser, openBrowser, openView, shot } from './browser.mjs'
import { PYTHON, REPO, startApp, stopApp } from './server.mjs'

const API_KEY = 'e2e-key-0123456789abcdef'
const MAX_CHARS = 2000 // small, so a too-long text is cheap to send
const ROOT_PATH = '/proxy'
const SPORTS = 'The striker scored twice as the champions came from behind to win the derby 3-1 on Saturday.'
const IMAGE_MODEL = 'digits-vit'
const SHIPPED_DIGITS = join(REPO, 'models', 'digits-vit')
const SHIPPED = existsSync(join(SHIPPED_DIGITS, 'examples'))
const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']

const work = mkdtempSync(join(tmpdir(), 'tp-e2e-'))
/** @type {{ child: import('node:child_process').ChildProcess, url: string, log: string } | undefined} */
let server
/** @type {import('playwright-core').BrowserContext | undefined} */
let context
/** @type {import('playwright-core').Page} */
let page
/** @type {string[]} */
let pageErrors = []
let imageFolder = SHIPPED_DIGITS

async function launch() {
  return startApp(work, {
    TP_ROOT_PATH: ROOT_PATH,
    TP_API_KEY: API_KEY,
    TP_MAX_CHARS: String(MAX_CHARS),
    TP_MODELS: `bbc-news-minilm=models/bbc-news-minilm,bbc-copy=models/bbc-news-minilm,${IMAGE_MODEL}=${imageFolder}`,
  })
}

// A stand-in digits model when the shipped one is missing: a 2-layer ViT with random weights, and example PNGs.
const TINY_VIT = `
import sys
from pathlib import Path
import torch
from PIL import Image, ImageDraw
from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

folder, labels = Path(sys.argv[1]), [str(i) for i in range(10)]
torch.manual_seed(0)
config = ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                   intermediate_size=64, num_labels=10, id2label=dict(enumerate(labels)),
                   label2id={label: i for i, label in enumerate(labels)})
ViTForImageClassification(config).save_pretrained(folder)
ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
(folder / "examples").mkdir()
for label in labels:
    image = Image.new("L", (32, 32))
    ImageDraw.Draw(image).text((12, 10), label, fill=255)
    image.save(folder / "examples" / f"{label}.png")
`

/** The folder of the image model to serve: the shipped one, or a stand-in built in `work`. */
function imageModelFolder() {
  if (SHIPPED) return SHIPPED_DIGITS
  const folder = join(work, 'tiny-vit')
  const made = spawnSync(PYTHON, ['-c', TINY_VIT, folder], { encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1' } })
  assert.equal(made.status, 0, `could not build the stand-in ViT:\n${made.stderr}`)
  return folder
}

/** The example PNGs of the image model, with the digit each shows (its file name: `7.png`, `3_seven.png`). */
function digitFiles() {
  const folder = join(imageFolder, 'examples')
  return readdirSync(folder)
    .filter((name) => name.endsWith('.png'))
    .map((name) => ({ path: join(folder, name), digit: name.replace(/\.png$/, '').split(/[_\-. ]+/).find((part) => DIGITS.includes(part)) }))
    .filter((file) => file.digit !== undefined)
}

/** The trimmed text of the first element matching `selector` (waits for it). @param {string} selector */
async function text(selector) {
  return ((await page.textContent(selector)) ?? '').trim()
}

before(async () => {
  assert.ok(existsSync(join(CLIENT, 'dist', 'index.html')), 'no build in vue-client/dist: run `npm run build` first')
  checkBrowser()
  imageFolder = imageModelFolder()
  server = await launch()
  ;({ context, page, pageErrors } = await openBrowser(work, { acceptDownloads: true }))
})

after(async () => {
  await context?.close()
  await stopApp(server)
  rmSync(work, { recursive: true, force: true })
})

test('the API key prompt: the server’s reason, a wrong key refused, the right one accepted', async () => {
  await page.goto(`${server?.url}/app/`)
  const dialog = page.locator('[role="dialog"]')
  await dialog.getByText('Missing API key').waitFor()
  await dialog.locator('input[type="password"]').fill('not-the-right-key-at-all')
  await dialog.locator('button[type="submit"]').click()
  await dialog.getByText('Wrong API key').waitFor()
  await shot(page, 'api-key')
  await dialog.locator('input[type="password"]').fill(API_KEY)
  await dialog.locator('button[type="submit"]').click()
  await dialog.waitFor({ state: 'detached' })
  // the models are asked for once the key is accepted: wait for their answer, not for the dialog alone
  await page.waitForFunction(() => document.querySelectorAll('header select option').length > 0)
  const options = await page.locator('header select option').allTextContents()
  assert.deepEqual(options, ['bbc-news-minilm', 'bbc-copy', IMAGE_MODEL])
})

test('classify one text, with Ctrl+Enter and with the other model', async () => {
  await page.fill('textarea', SPORTS)
  await page.press('textarea', 'Control+Enter')
  await page.waitForSelector('[data-testid="predicted-label"]')
  assert.equal(await text('[data-testid="predicted-label"]'), 'sports')
  assert.equal(await page.locator('.bars li').count(), 5)
  await shot(page, 'classify')

  await page.selectOption('header select', 'bbc-copy')
  const [response] = await Promise.all([
    page.waitForResponse((res) => res.url().endsWith('/api/v1/predict')),
    page.click('button[type="submit"]'),
  ])
  assert.equal((await response.json()).model, 'bbc-copy')
  assert.equal(response.request().headers()['x-api-key'], API_KEY)
})

test('an empty text is refused before it reaches the server', async () => {
  await page.fill('textarea', '   ')
  let requests = 0
  const count = (/** @type {import('playwright-core').Request} */ request) => (request.url().includes('/api/v1/predict') ? requests++ : undefined)
  page.on('request', count)
  await page.click('button[type="submit"]')
  assert.equal(await text('[role="alert"]'), 'Enter a text to classify first.')
  page.off('request', count)
  assert.equal(requests, 0)
})

test("a server error shows the server's detail", async () => {
  await page.fill('textarea', 'word '.repeat(MAX_CHARS / 4))
  assert.match(await text('.hint'), /over the server’s limit/)
  await page.click('button[type="submit"]')
  const alert = page.locator('[role="alert"]').filter({ hasText: 'TP_MAX_CHARS' })
  await alert.waitFor()
  assert.match((await alert.textContent()) ?? '', /The server answered 422: `inputs` has 2,500 characters; the limit is 2,000/)
  await shot(page, 'classify-error')
})

test('batch: upload a CSV, choose its column, classify all, export the results', async () => {
  const csv = join(work, 'articles.csv')
  const rows = [
    ['id', 'titre', 'texte'],
    ['1', 'Football', SPORTS],
    ['2', 'Bourse', 'Shares in the bank fell 4% after it cut its profit forecast, and investors sold the stock.'],
    ['3', 'Cinéma', 'The film won best picture at the awards;\nits lead actress thanked the director.'],
    ['4', 'Tech', 'The new smartphone chip doubles battery life, the company told developers.'],
  ]
  writeFileSync(csv, rows.map((row) => row.map((v) => `"${v.replace(/"/g, '""')}"`).join(';')).join('\r\n'))
  await openView(page, 'batch')
  await page.check('input[type="radio"][value="file"]')
  await page.setInputFiles('[data-testid="batch-file"]', csv)
  await page.getByText('4 texts ready').waitFor()
  await page.locator('form select').selectOption({ label: 'titre' })
  await page.locator('form select').selectOption({ label: 'texte' })
  await page.click('button[type="submit"]')
  await page.locator('tbody tr').nth(3).waitFor()
  const labels = await page.locator('tbody tr td:nth-child(3) strong').allTextContents()
  assert.deepEqual(labels, ['sports', 'business', 'entertainment', 'tech'])
  await shot(page, 'batch')

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByText('Export as CSV').click()])
  assert.equal(download.suggestedFilename(), 'articles-bbc-copy.csv')
  const exported = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '').split('\r\n')
  assert.match(exported[0], /^row,text,label,score,p_business,p_entertainment,p_politics,p_sports,p_tech,truncated$/)
  assert.match(exported[1], /^1,The striker scored twice.*,sports,0\.\d+,/)
})

test('behind the pipeline: tokens by attribution, logits and softmax', async () => {
  await openView(page, 'pipeline')
  await page.fill('textarea', SPORTS)
  await page.click('button[type="submit"]')
  await page.waitForSelector('[data-testid="tokens"] li')
  const tokens = await page.locator('[data-testid="tokens"] li').allTextContents()
  assert.match(tokens[0], /\[CLS\]/)
  assert.ok(tokens.some((token) => token.includes('striker')))
  assert.equal(await page.locator('tbody tr').count(), 5)
  assert.match(await text('[data-testid="pipeline-prediction"]'), /^sports, with a probability of \d/)
  await shot(page, 'pipeline')
})

test('the model panel: labels, metrics, confusion matrix', async () => {
  await openView(page, 'model')
  await page.waitForSelector('table.matrix')
  const labels = await page.locator('[data-testid="model-labels"] li').allTextContents()
  assert.deepEqual(labels, ['business', 'entertainment', 'politics', 'sports', 'tech'])
  assert.match(await text('main'), /Accuracy\s*98\.2%/)
  await shot(page, 'model')
})

test('an image model: upload a digit, see its label, then click an example', async () => {
  await page.selectOption('header select', IMAGE_MODEL)
  await openView(page, 'classify')
  await page.waitForSelector('[data-testid="image-file"]')
  assert.equal(await page.locator('main textarea').count(), 0)
  const [digit] = digitFiles().filter((file) => file.digit === '7').concat(digitFiles())
  const [response] = await Promise.all([
    page.waitForResponse((res) => res.url().endsWith('/api/v1/predict')),
    page.setInputFiles('[data-testid="image-file"]', digit.path),
  ])
  assert.equal(response.status(), 200)
  assert.equal((await response.json()).model, IMAGE_MODEL)
  await page.waitForSelector('[data-testid="predicted-label"]')
  const label = await text('[data-testid="predicted-label"]')
  if (SHIPPED) assert.equal(label, digit.digit, `${digit.path} read as ${label}`)
  else assert.ok(DIGITS.includes(label))
  assert.equal(await page.locator('.bars li').count(), 10)
  assert.ok(await page.$eval('[data-testid="image-preview"]', (img) => /** @type {HTMLImageElement} */ (img).naturalWidth > 0))
  await shot(page, 'image-classify')

  const examples = page.locator('[data-testid="image-examples"] button')
  assert.equal(await examples.count(), 10)
  await Promise.all([
    page.waitForResponse((res) => res.url().endsWith('/api/v1/predict')),
    page.getByRole('button', { name: 'Example image: 3' }).click(),
  ])
  await page.waitForSelector('[data-testid="predicted-label"]')
  if (SHIPPED) assert.equal(await text('[data-testid="predicted-label"]'), '3')
  assert.match(await text('.preview figcaption'), /^3\.png/)
})

test('an image model: a file that is not an image is refused before it reaches the server', async () => {
  const fake = join(work, 'notes.png')
  writeFileSync(fake, 'These are notes, not a picture.\n')
  let requests = 0
  const count = (/** @type {import('playwright-core').Request} */ request) => (request.url().includes('/api/v1/') ? requests++ : undefined)
  page.on('request', count)
  await page.setInputFiles('[data-testid="image-file"]', fake)
  const alert = page.locator('[role="alert"]')
  await alert.waitFor()
  assert.match((await alert.textContent()) ?? '', /^\s*notes\.png is not an image this model can read \(PNG/)
  page.off('request', count)
  assert.equal(requests, 0)
  assert.equal(await page.locator('[data-testid="predicted-label"]').count(), 0)
  await shot(page, 'image-error')
})

test('an image model behind the pipeline: the heatmap over the image, both methods, logits and softmax', async () => {
  await openView(page, 'pipeline')
  const [digit] = digitFiles()
  await Promise.all([
    page.waitForResponse((res) => res.url().endsWith('/api/v1/explain')),
    page.setInputFiles('[data-testid="image-file"]', digit.path),
  ])
  const overlay = page.locator('[data-testid="image-overlay"]')
  await overlay.waitFor()
  const loaded = () => overlay.evaluate((img) => (/** @type {HTMLImageElement} */ (img).complete ? /** @type {HTMLImageElement} */ (img).naturalWidth : 0))
  assert.ok((await loaded()) > 0, 'the overlay PNG does not decode')
  assert.equal(await page.locator('tbody tr').count(), 10)
  assert.match(await text('[data-testid="pipeline-prediction"]'), /^\d, with a probability of \d/)
  await shot(page, 'image-pipeline')

  const [response] = await Promise.all([
    page.waitForResponse((res) => res.url().endsWith('/api/v1/explain')),
    page.selectOption('[data-testid="image-method"]', 'attention_rollout'),
  ])
  const explanation = await response.json()
  assert.equal(explanation.method, 'attention_rollout')
  assert.equal(explanation.task, 'image-classification')
  await page.getByText('By attention rollout:').waitFor()
  await overlay.waitFor()
  assert.ok((await loaded()) > 0)
  await shot(page, 'image-pipeline-rollout')
})

test('an image model in batch: several files at once, the bad one set aside', async () => {
  await openView(page, 'batch')
  const files = digitFiles()
  const fake = join(work, 'notes.png')
  await page.setInputFiles('[data-testid="image-file"]', [...files.map((file) => file.path), fake])
  await page.getByText(`${files.length} images ready`).waitFor()
  assert.match(await text('.rejected'), /notes\.png is not an image/)
  await page.click('button[type="submit"]')
  await page.locator('tbody tr').nth(files.length - 1).waitFor()
  const rows = await page.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim())))
  assert.deepEqual(rows.map((row) => row[1]), files.map((file) => file.path.split('/').pop()))
  if (SHIPPED) {
    const right = rows.filter((row, i) => row[2] === files[i].digit).length
    assert.ok(right >= files.length - 1, `only ${right} of ${files.length} examples read right`)
  }
  await shot(page, 'image-batch')
})

test('in French, on a phone: every view fits the screen', async () => {
  await page.setViewportSize({ width: 390, height: 844 })
  await page.click('button[lang="fr"]')
  assert.equal(await page.getAttribute('html', 'lang'), 'fr')
  for (const model of [IMAGE_MODEL, 'bbc-copy']) {
    await page.selectOption('header select', model)
    for (const view of ['model', 'pipeline', 'batch', 'classify']) {
      await openView(page, view)
      const name = model === IMAGE_MODEL ? `image-${view}-fr-phone` : `${view}-fr-phone`
      await shot(page, name)
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
      assert.ok(overflow <= 0, `${name} is ${overflow}px wider than the phone`)
    }
  }
  assert.equal(await text('button[type="submit"]'), 'Classer')
  assert.equal(await page.locator('main textarea').count(), 1) // back to the text model: its view again
})

test('no script errors on the page', () => {
  assert.deepEqual(pageErrors, [])
})
