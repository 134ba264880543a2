// End to end: the real app (app.py, the shipped model, served twice to get a model picker) behind a proxy
// sub-path with an API key, and the built client at /proxy/app/, driven in Debian's Chromium.
// Needs `npm run build` first; screenshots of each view go to e2e/screenshots/ (or $E2E_SCREENSHOTS).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const CLIENT = fileURLToPath(new URL('..', import.meta.url))
const REPO = join(CLIENT, '..')
const PYTHON = process.env.TP_PYTHON ?? join(REPO, '.venv', 'bin', 'python')
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SHOTS = process.env.E2E_SCREENSHOTS ?? join(CLIENT, 'e2e', 'screenshots')
const API_KEY = 'e2e-key-0123456789abcdef'
const MAX_CHARS = 2000 // small, so a too-long text is cheap to send
const ROOT_PATH = '/proxy'
const SPORTS = 'The striker scored twice as the champions came from behind to win the derby 3-1 on Saturday.'

const work = mkdtempSync(join(tmpdir(), 'tp-e2e-'))
/** @type {{ child: import('node:child_process').ChildProcess, url: string, log: string } | undefined} */
let server
/** @type {import('playwright-core').BrowserContext | undefined} */
let context
/** @type {import('playwright-core').Page} */
let page
/** @type {string[]} */
const pageErrors = []

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (probe.address())
      probe.close(() => resolve(port))
    })
    probe.on('error', reject)
  })
}

async function startApp() {
  const port = await freePort()
  const log = join(work, 'server.log')
  const out = openSync(log, 'w')
  const child = spawn(PYTHON, ['app.py'], {
    cwd: REPO,
    stdio: ['ignore', out, out],
    env: {
      ...process.env,
      HF_HUB_OFFLINE: '1',
      TOKENIZERS_PARALLELISM: 'false',
      GRADIO_ANALYTICS_ENABLED: 'False',
      TP_HOST: '127.0.0.1',
      TP_PORT: String(port),
      TP_ROOT_PATH: ROOT_PATH,
      TP_API_KEY: API_KEY,
      TP_MAX_CHARS: String(MAX_CHARS),
      TP_MODELS: 'bbc-news-minilm=models/bbc-news-minilm,bbc-copy=models/bbc-news-minilm',
    },
  })
  const url = `http://127.0.0.1:${port}${ROOT_PATH}`
  const deadline = Date.now() + 240_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`app.py exited with ${child.exitCode}:\n${tail(log)}`)
    const ready = await fetch(`${url}/api/v1/ready`).then((res) => res.ok, () => false)
    if (ready) return { child, url, log }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  child.kill('SIGKILL')
  throw new Error(`app.py was not ready within 240 s:\n${tail(log)}`)
}

/** @param {string} log */
function tail(log) {
  return existsSync(log) ? readFileSync(log, 'utf8').slice(-4000) : ''
}

async function stopApp() {
  const child = server?.child
  if (!child || child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM') // by PID: the one process this test started
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(timer)
}

/** @param {string} name */
async function shot(name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
}

/** The trimmed text of the first element matching `selector` (waits for it). @param {string} selector */
async function text(selector) {
  return ((await page.textContent(selector)) ?? '').trim()
}

/** @param {string} hash */
async function openView(hash) {
  await page.click(`nav a[href="#${hash}"]`)
  await page.waitForSelector(`nav a[href="#${hash}"][aria-current="page"]`)
}

before(async () => {
  assert.ok(existsSync(join(CLIENT, 'dist', 'index.html')), 'no build in vue-client/dist: run `npm run build` first')
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`)
  mkdirSync(SHOTS, { recursive: true })
  server = await startApp()
  context = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  })
  page = context.pages()[0] ?? (await context.newPage())
  page.setDefaultTimeout(30_000)
  page.on('pageerror', (error) => pageErrors.push(error.message))
})

after(async () => {
  await context?.close()
  await stopApp()
  rmSync(work, { recursive: true, force: true })
})

test('the API key prompt: the server’s reason, a wrong key refused, the right one accepted', async () => {
  await page.goto(`${server?.url}/app/`)
  const dialog = page.locator('[role="dialog"]')
  await dialog.getByText('Missing API key').waitFor()
  await dialog.locator('input[type="password"]').fill('not-the-right-key-at-all')
  await dialog.locator('button[type="submit"]').click()
  await dialog.getByText('Wrong API key').waitFor()
  await shot('api-key')
  await dialog.locator('input[type="password"]').fill(API_KEY)
  await dialog.locator('button[type="submit"]').click()
  await dialog.waitFor({ state: 'detached' })
  const options = await page.locator('header select option').allTextContents()
  assert.deepEqual(options, ['bbc-news-minilm', 'bbc-copy'])
})

test('classify one text, with Ctrl+Enter and with the other model', async () => {
  await page.fill('textarea', SPORTS)
  await page.press('textarea', 'Control+Enter')
  await page.waitForSelector('[data-testid="predicted-label"]')
  assert.equal(await text('[data-testid="predicted-label"]'), 'sports')
  assert.equal(await page.locator('.bars li').count(), 5)
  await shot('classify')

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
  await shot('classify-error')
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
  await openView('batch')
  await page.check('input[type="radio"][value="file"]')
  await page.setInputFiles('[data-testid="batch-file"]', csv)
  await page.getByText('4 texts ready').waitFor()
  await page.locator('form select').selectOption({ label: 'titre' })
  await page.locator('form select').selectOption({ label: 'texte' })
  await page.click('button[type="submit"]')
  await page.locator('tbody tr').nth(3).waitFor()
  const labels = await page.locator('tbody tr td:nth-child(3) strong').allTextContents()
  assert.deepEqual(labels, ['sports', 'business', 'entertainment', 'tech'])
  await shot('batch')

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByText('Export as CSV').click()])
  assert.equal(download.suggestedFilename(), 'articles-bbc-copy.csv')
  const exported = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '').split('\r\n')
  assert.match(exported[0], /^row,text,label,score,p_business,p_entertainment,p_politics,p_sports,p_tech,truncated$/)
  assert.match(exported[1], /^1,The striker scored twice.*,sports,0\.\d+,/)
})

test('behind the pipeline: tokens by attribution, logits and softmax', async () => {
  await openView('pipeline')
  await page.fill('textarea', SPORTS)
  await page.click('button[type="submit"]')
  await page.waitForSelector('[data-testid="tokens"] li')
  const tokens = await page.locator('[data-testid="tokens"] li').allTextContents()
  assert.match(tokens[0], /\[CLS\]/)
  assert.ok(tokens.some((token) => token.includes('striker')))
  assert.equal(await page.locator('tbody tr').count(), 5)
  assert.match(await text('[data-testid="pipeline-prediction"]'), /^sports, with a probability of \d/)
  await shot('pipeline')
})

test('the model panel: labels, metrics, confusion matrix', async () => {
  await openView('model')
  await page.waitForSelector('table.matrix')
  const labels = await page.locator('[data-testid="model-labels"] li').allTextContents()
  assert.deepEqual(labels, ['business', 'entertainment', 'politics', 'sports', 'tech'])
  assert.match(await text('main'), /Accuracy\s*98\.2%/)
  await shot('model')
})

test('in French, on a phone: every view fits the screen', async () => {
  await page.setViewportSize({ width: 390, height: 844 })
  await page.click('button[lang="fr"]')
  assert.equal(await page.getAttribute('html', 'lang'), 'fr')
  for (const view of ['model', 'pipeline', 'batch', 'classify']) {
    await openView(view)
    await shot(`${view}-fr-phone`)
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert.ok(overflow <= 0, `#${view} is ${overflow}px wider than the phone`)
  }
  assert.equal(await text('button[type="submit"]'), 'Classer')
})

test('no script errors on the page', () => {
  assert.deepEqual(pageErrors, [])
})
