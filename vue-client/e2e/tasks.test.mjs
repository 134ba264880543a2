// End to end: the tasks beyond one label per text. app.py serves two tiny runs trained here for 6 steps on real data
// (tests/tiny_tasks.py: disaster messages, multi-label with 33 labels; STS-B sentence pairs scored 0-5, regression),
// and the built client at /app/ and the Gradio demo at / adapt to each, driven in Debian's Chromium. The tiny
// models learn nothing: answers are checked for shape. Needs `npm run build` first; screenshots go to
// e2e/screenshots/ (or $E2E_SCREENSHOTS).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { CLIENT, checkBrowser, openBrowser, openView, shot } from './browser.mjs'
import { PYTHON, REPO, startApp, stopApp } from './server.mjs'

const MULTI = 'disaster-messages'
const PAIRS = 'sts-b'
const MESSAGE = 'We need water and food in Leogane, the bridge is down and the children are sick.'
const PAIR = ['A man is playing a guitar.', 'Someone plays an instrument.']

const work = mkdtempSync(join(tmpdir(), 'tp-e2e-tasks-'))
/** @type {{ child: import('node:child_process').ChildProcess, url: string, log: string } | undefined} */
let server
/** @type {import('playwright-core').BrowserContext | undefined} */
let context
/** @type {import('playwright-core').Page} */
let page
/** @type {string[]} */
let pageErrors = []

/**
 * Do `act` and wait for the POST to `endpoint` it sends; its request body and its (200) answer.
 * @param {'predict' | 'explain'} endpoint
 * @param {() => Promise<unknown>} act
 */
async function answered(endpoint, act) {
  const [response] = await Promise.all([page.waitForResponse((res) => res.url().endsWith(`/api/v1/${endpoint}`)), act()])
  assert.equal(response.status(), 200, await response.text())
  return { sent: response.request().postDataJSON(), answer: await response.json() }
}
const predicted = (/** @type {() => Promise<unknown>} */ act) => answered('predict', act)
const explained = (/** @type {() => Promise<unknown>} */ act) => answered('explain', act)

/** The view shows a pair model's two textareas: fill them with PAIR. */
async function fillPair() {
  const boxes = page.locator('main textarea')
  assert.equal(await boxes.count(), 2)
  await boxes.nth(0).fill(PAIR[0])
  await boxes.nth(1).fill(PAIR[1])
}

/** The regression value the page shows, as a number. */
async function shownValue() {
  return Number((await page.locator('[data-testid="predicted-value"]').innerText()).replace(/,/g, ''))
}

before(async () => {
  assert.ok(existsSync(join(CLIENT, 'dist', 'index.html')), 'no build in vue-client/dist: run `npm run build` first')
  checkBrowser()
  const runs = join(work, 'runs')
  const made = spawnSync(PYTHON, [join('tests', 'tiny_tasks.py'), runs], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' },
  })
  assert.equal(made.status, 0, `could not train the tiny runs:\n${made.stderr.slice(-3000)}`)
  server = await startApp(work, {
    TP_MODELS: `${MULTI}=${join(runs, 'multi')},${PAIRS}=${join(runs, 'pairs')}`,
    TP_BACKEND: 'torch', // no ONNX export in the background: the test's two cores are busy enough
  })
  ;({ context, page, pageErrors } = await openBrowser(work, { acceptDownloads: true }))
})

after(async () => {
  await context?.close()
  await stopApp(server)
  rmSync(work, { recursive: true, force: true })
})

test('multi-label: chips of the labels over their tuned thresholds, then a threshold for every label', async () => {
  await page.goto(`${server?.url}/app/`)
  await page.waitForFunction(() => document.querySelectorAll('header select option').length > 0)  // GET /models
  assert.deepEqual(await page.locator('header select option').allTextContents(), [MULTI, PAIRS])
  await page.selectOption('header select', MULTI)
  assert.match(await page.locator('[data-testid="threshold-state"]').innerText(), /^tuned per label \(0\.\d\d to 0\.\d\d\)$/)
  await page.fill('textarea', MESSAGE)
  const { sent, answer } = await predicted(() => page.click('button[type="submit"]'))
  assert.equal(sent.threshold, undefined) // the run's tuned thresholds
  await page.locator('.result .bars li').first().waitFor()
  assert.equal(await page.locator('.result .bars li').count(), 33)
  assert.equal(await page.locator('.result .bars .tick').count(), 33)
  const { labels } = answer.predictions[0]
  assert.equal(await page.locator('.result .bars .check').count(), labels.length)
  if (labels.length) assert.deepEqual(await page.locator('[data-testid="predicted-labels"] li').allTextContents(), labels)
  else await page.locator('[data-testid="no-label"]').waitFor()
  await shot(page, 'task-multi-label')

  const lowest = await predicted(() => page.locator('[data-testid="threshold"]').fill('0'))
  assert.equal(lowest.sent.threshold, 0)
  await page.locator('[data-testid="predicted-labels"] li').nth(32).waitFor()
  assert.equal(await page.locator('[data-testid="threshold-state"]').innerText(), '0.00 for every label')
  await shot(page, 'task-multi-label-threshold')
  const back = await predicted(() => page.getByRole('button', { name: 'Back to the tuned thresholds' }).click())
  assert.equal(back.sent.threshold, undefined)
})

test('multi-label batch: a label list per row, exported joined', async () => {
  await openView(page, 'batch')
  await page.fill('textarea', [MESSAGE, 'The earthquake destroyed our house.', 'Thank you for the news.'].join('\n'))
  await page.locator('[data-testid="threshold"]').fill('0.5')
  const { sent } = await predicted(() => page.click('button[type="submit"]'))
  assert.equal(sent.threshold, 0.5)
  await page.locator('tbody tr').nth(2).waitFor()
  assert.deepEqual(await page.locator('thead th').allTextContents(), ['Row', 'Text', 'Labels', 'Best score'])
  await shot(page, 'task-multi-label-batch')
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByText('Export as CSV').click()])
  const header = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '').split('\r\n')[0]
  assert.match(header, /^row,text,labels,p_\w+,.*,truncated$/)
  assert.equal(header.split(',').length, 3 + 33 + 1)
})

test('a text-pair regression model: two texts in, the score out', async () => {
  await page.selectOption('header select', PAIRS)
  await openView(page, 'classify')
  assert.equal(await page.locator('[data-testid="threshold"]').count(), 0)
  await fillPair()
  const { sent, answer } = await predicted(() => page.click('button[type="submit"]'))
  assert.deepEqual(sent.inputs, { text: PAIR[0], text_pair: PAIR[1] })
  assert.equal(await shownValue(), Math.round(answer.predictions[0].value * 1000) / 1000)
  assert.equal(await page.locator('[data-testid="value-name"]').innerText(), 'score')
  await shot(page, 'task-pair-regression')
})

test('pair batch: two CSV columns in, the value column out', async () => {
  const csv = join(work, 'pairs.csv')
  writeFileSync(csv, ['id,sentence1,sentence2', `1,${PAIR[0]},${PAIR[1]}`, '2,Stocks fell in Tokyo.,A cat sleeps on the sofa.',
    '3,"A woman slices an onion, slowly.",Someone is cutting an onion.'].join('\n'))
  await openView(page, 'batch')
  await page.check('input[type="radio"][value="file"]')
  await page.setInputFiles('[data-testid="batch-file"]', csv)
  await page.getByText('3 pairs ready').waitFor()
  assert.equal(await page.locator('[data-testid="text-column"] option:checked').innerText(), 'sentence1')
  assert.equal(await page.locator('[data-testid="pair-column"] option:checked').innerText(), 'sentence2')
  const { sent } = await predicted(() => page.click('button[type="submit"]'))
  assert.deepEqual(sent.inputs[2], { text: 'A woman slices an onion, slowly.', text_pair: 'Someone is cutting an onion.' })
  await page.locator('tbody tr').nth(2).waitFor()
  assert.deepEqual(await page.locator('thead th').allTextContents(), ['Row', 'Text', 'Second text', 'score'])
  await page.locator('[data-testid="value-summary"]').waitFor()
  await shot(page, 'task-pair-batch')
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByText('Export as CSV').click()])
  assert.equal(download.suggestedFilename(), `pairs-${PAIRS}.csv`)
  const lines = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '').split('\r\n')
  assert.equal(lines[0], 'row,text,text_pair,score,truncated')
  assert.match(lines[3], /^3,"A woman slices an onion, slowly\.",Someone is cutting an onion\.,-?\d/)
})

test('behind the pipeline of a pair model: both texts sent, tokens by text, the value attributed', async () => {
  await openView(page, 'pipeline')
  assert.equal(await page.locator('[data-testid="pipeline-target"]').count(), 0)
  await fillPair()
  const { sent, answer } = await explained(() => page.click('button[type="submit"]'))
  assert.deepEqual(sent.inputs, { text: PAIR[0], text_pair: PAIR[1] })
  assert.equal(sent.target, null)
  await page.locator('.group h3').nth(1).waitFor()
  assert.deepEqual(await page.locator('.group h3').allTextContents(), ['First text', 'Second text (text_pair)'])
  const second = await page.locator('.group[data-segment="1"] li').allInnerTexts()
  assert.ok(second.some((token) => token.startsWith('someone')), second.join(' '))
  assert.equal(await shownValue(), Math.round(answer.value * 1000) / 1000)
  await shot(page, 'task-pipeline-pair-regression')
})

test('behind the pipeline of a multi-label model: the label the user picks is explained', async () => {
  await page.selectOption('header select', MULTI)
  await page.fill('main textarea', MESSAGE)
  const target = page.locator('[data-testid="pipeline-target"]')
  assert.equal(await target.locator('option').first().innerText(), 'The highest-scoring label')
  const label = /** @type {string} */ (await target.locator('option').nth(3).getAttribute('value'))
  await target.selectOption(label)
  const { sent, answer } = await explained(() => page.click('button[type="submit"]'))
  assert.equal(sent.target, label)
  assert.equal(answer.target, label)
  await page.getByText(`pushed the label “${label}”`).waitFor()
  assert.equal(await page.locator('.group h3').count(), 0)
  assert.equal(await page.locator('main tbody tr').count(), 33)
  await page.locator('[data-testid="pipeline-prediction"]').waitFor()
  await shot(page, 'task-pipeline-multi-label')
})

test('in French, on a phone: the task views fit the screen', async () => {
  await page.setViewportSize({ width: 390, height: 844 })
  await page.click('button[lang="fr"]')
  for (const model of [PAIRS, MULTI]) {
    await page.selectOption('header select', model)
    for (const view of ['model', 'pipeline', 'batch', 'classify']) {
      await openView(page, view)
      await shot(page, `task-${model}-${view}-fr-phone`)
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
      assert.ok(overflow <= 0, `${model} ${view} is ${overflow}px wider than the phone`)
    }
  }
  await page.fill('main textarea', MESSAGE)
  await predicted(() => page.click('button[type="submit"]'))
  await page.locator('.result .bars li').first().waitFor()
  await shot(page, 'task-multi-label-fr-phone-result')
  await page.click('button[lang="en"]')
  await page.setViewportSize({ width: 1280, height: 900 })
})

test('the Gradio demo: the threshold of a multi-label model, the two texts of a pair model', async () => {
  await page.goto(`${server?.url}/`)
  const tab = page.locator('[role="tabpanel"]:visible')
  await tab.getByLabel('Use the run', { exact: false }).waitFor()
  await tab.getByLabel('Text', { exact: true }).fill(MESSAGE)
  await tab.getByRole('button', { name: 'Classify' }).click()
  const note = page.locator('#classify-note')
  await note.getByText('Predicted labels').waitFor()
  await shot(page, 'task-gradio-multi-label')

  const model = page.getByLabel('Model', { exact: true })
  await model.click()
  await page.getByRole('option', { name: PAIRS }).click()
  const second = tab.getByLabel('Second text (text_pair)')
  await second.waitFor()
  // the examples follow the picked model: its own test pairs, filling both fields; the other model's are gone
  const [messages, pairs] = ['multi', 'pairs'].map((run) => JSON.parse(readFileSync(join(work, 'runs', run, 'tp.json'), 'utf8')).examples)
  await tab.getByText(pairs[1][1], { exact: true }).click()
  await page.waitForFunction((text) => [...document.querySelectorAll('textarea')].some((box) => box.value === text), pairs[1][1])
  assert.equal(await tab.getByLabel('Text', { exact: true }).inputValue(), pairs[1][0])
  assert.equal(await second.inputValue(), pairs[1][1])
  assert.equal(await tab.getByText(messages[0], { exact: true }).filter({ visible: true }).count(), 0)
  await tab.getByLabel('Text', { exact: true }).fill(PAIR[0])
  await second.fill(PAIR[1])
  await tab.getByRole('button', { name: 'Classify' }).click()
  await note.getByText('Predicted score').waitFor()
  assert.equal(await tab.getByLabel('Use the run', { exact: false }).count(), 0)
  await shot(page, 'task-gradio-pair-regression')
})

test('no script errors on the page', () => {
  assert.deepEqual(pageErrors, [])
})
