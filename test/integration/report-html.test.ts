// The HTML and PDF reports of a real run, opened in a real headless Chromium (spoken to over the DevTools
// protocol): no console errors, no request but the file itself, every chart drawn, the verdict shown, nothing from
// the result unescaped, no sideways scrolling on a phone; the PDF read back by poppler's pdfinfo and pdftoppm.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { WebSocket } from 'undici';
import { findChromium } from '../../engine/report/chromium.js';
import { perfyAsync, startServer, tempDir } from '../helpers.js';

/** Why the browser tests cannot run here, or undefined; in CI (PERFY_REQUIRE_ALL=1) a missing tool fails them. */
function missingTools(): string | undefined {
  const missing = [
    ...(findChromium() === undefined ? ['chromium'] : []),
    ...['pdfinfo', 'pdftoppm'].filter((tool) => spawnSync(tool, ['-v']).error !== undefined),
  ];
  if (missing.length === 0) return undefined;
  const why = `${missing.join(', ')} not found (apt-get install chromium poppler-utils)`;
  if (process.env['PERFY_REQUIRE_ALL']) throw new Error(why);
  console.log(`# skipping the browser tests: ${why}`);
  return why;
}

/** A headless Chromium and one page of it, driven over the DevTools protocol (flattened sessions). */
class Browser {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly listeners: ((method: string, params: Record<string, unknown>) => void)[] = [];
  private sessionId = '';

  private constructor(private readonly child: ChildProcess, private readonly socket: WebSocket) {
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as {
        id?: number; result?: unknown; error?: { message: string }; method?: string; params?: Record<string, unknown>;
      };
      if (message.id !== undefined) {
        const waiter = this.waiting.get(message.id);
        this.waiting.delete(message.id);
        if (message.error) waiter?.reject(new Error(message.error.message));
        else waiter?.resolve(message.result);
      } else if (message.method !== undefined) {
        for (const listener of this.listeners) listener(message.method, message.params ?? {});
      }
    });
  }

  static async launch(profile: string): Promise<Browser> {
    const child = spawn(findChromium()!.path, [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--hide-scrollbars',
      '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      let said = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        said += d;
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(said);
        if (m) resolve(m[1]!);
      });
      child.on('exit', () => reject(new Error(`chromium exited: ${said}`)));
    });
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.addEventListener('open', resolve);
      socket.addEventListener('error', reject);
    });
    const browser = new Browser(child, socket);
    const { targetId } = await browser.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
    const attached = await browser.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
    browser.sessionId = attached.sessionId;
    for (const domain of ['Page', 'Runtime', 'Log', 'Network']) await browser.send(`${domain}.enable`);
    return browser;
  }

  send<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    const message = { id, method, params, ...(this.sessionId ? { sessionId: this.sessionId } : {}) };
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.socket.send(JSON.stringify(message));
    });
  }

  on(listener: (method: string, params: Record<string, unknown>) => void): void {
    this.listeners.push(listener);
  }

  /** A page expression's value (JSON-serializable), awaited. */
  async evaluate<T>(expression: string): Promise<T> {
    const { result, exceptionDetails } = await this.send<{ result: { value: T }; exceptionDetails?: unknown }>(
      'Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    if (exceptionDetails) throw new Error(`evaluate failed: ${JSON.stringify(exceptionDetails)}`);
    return result.value;
  }

  /** Loads `url` and waits for its load event and for the charts' script to say it has drawn. */
  async open(url: string): Promise<void> {
    const loaded = new Promise<void>((resolve) => this.on((method) => method === 'Page.loadEventFired' && resolve()));
    await this.send('Page.navigate', { url });
    await loaded;
    await this.evaluate(`new Promise((resolve) => { const check = () =>
      document.documentElement.hasAttribute('data-charts') ? resolve(true) : setTimeout(check, 20); check(); })`);
  }

  /** Stops the browser and waits for it: its profile is removed afterwards. */
  async close(): Promise<void> {
    this.socket.close();
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill();
    await exited;
  }
}

/** Per chart: its canvas' size and its pixels in colour (axes and grid are grey; only the series are coloured). */
const CHART_PIXELS = `[...document.querySelectorAll('.plot')].map((plot) => {
  const canvas = plot.querySelector('canvas');
  if (!canvas) return { id: plot.dataset.chart, width: 0, coloured: 0 };
  const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  let coloured = 0;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
    if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 80) coloured++;
  }
  return { id: plot.dataset.chart, width: canvas.width, coloured };
})`;

describe('HTML and PDF reports in a real browser', { concurrency: false }, () => {
  const skip = missingTools();
  const t = tempDir({});
  const server = { url: '', close: async () => {} };
  let dir = '';
  let run = { status: null as number | null, output: '' };
  let browser: Browser | undefined;

  before(async () => {
    if (skip) return;
    let calls = 0;
    const s = await startServer((req, res) => {
      // /flaky fails one request in four: errors over time and by class have something to show.
      const fails = req.url?.startsWith('/flaky') && ++calls % 4 === 0;
      res.writeHead(fails ? 503 : 200, { 'content-type': 'application/json' }).end('{"items":[1,2]}');
    });
    Object.assign(server, { url: s.url, close: s.close });
    const file = t.path('shop.yaml');
    writeFileSync(file, [
      'name: shop',
      // Markup in what the scenario says must reach the page as text.
      `description: "the <script>alert(1)</script> & <b>bold</b> shop"`,
      `target: ${server.url}`,
      'load: [ { ramp: { to: 40/s }, duration: 2s }, { rate: 40/s, duration: 2s } ]',
      'flow:',
      '  - { name: "list <items>", http: { get: /items }, expect: [ "status == 200" ] }',
      '  - { name: flaky, http: { get: /flaky }, expect: [ "status == 200" ] }',
      'thresholds: [ "rate(http.errors) < 1%", "p95(http.duration) < 10s" ]',
      // perfy watching itself: a warning alert that fires after a second, marked on the processes' chart.
      'monitor: { processes: [self], interval: 250ms, alerts: [ "rss(self) > 1MB for 1s" ] }',
      'report: [ html, pdf ]',
    ].join('\n'));
    dir = t.path('out');
    const ran = await perfyAsync(['run', file, '--quiet', '--out', dir]);
    run = { status: ran.status, output: ran.stdout + ran.stderr };
    browser = await Browser.launch(t.path('profile'));
  });
  after(async () => {
    await browser?.close();
    await server.close();
    t.cleanup();
  });

  it('writes both reports for `report: [html, pdf]` and names them', { skip }, () => {
    assert.equal(run.status, 1, run.output);
    assert.match(run.output, /^FAILED · 1 of 2 thresholds crossed: rate\(http\.errors\) < 1%/m);
    assert.match(run.output, /^HTML report: .*report\.html$/m);
    assert.match(run.output, /^PDF report: .*report\.pdf$/m);
  });

  it('opens from file:// with no console error, no other request, every chart drawn, the verdict shown', { skip },
    async () => {
      const b = browser!;
      const url = pathToFileURL(`${dir}/report.html`).href;
      const requests: string[] = [];
      const errors: string[] = [];
      b.on((method, params) => {
        if (method === 'Network.requestWillBeSent') requests.push((params['request'] as { url: string }).url);
        if (method === 'Runtime.exceptionThrown') errors.push(JSON.stringify(params['exceptionDetails']));
        if (method === 'Runtime.consoleAPICalled' && params['type'] === 'error') errors.push(JSON.stringify(params));
        if (method === 'Log.entryAdded' && (params['entry'] as { level: string }).level === 'error') {
          errors.push(JSON.stringify(params['entry']));
        }
      });
      await b.open(url);
      assert.deepEqual(errors, []);
      assert.deepEqual(requests, [url]);
      assert.equal(await b.evaluate('document.getElementById("verdict").textContent'), 'FAILED');
      assert.match(await b.evaluate<string>('document.querySelector("header .line").textContent'),
        /^FAILED · 1 of 2 thresholds crossed: rate\(http\.errors\) < 1% \(\d/);

      const expected = JSON.parse(await b.evaluate<string>('document.getElementById("chart-data").textContent')) as {
        charts: { id: string; marks?: { s: number; kind: string }[] }[];
      };
      const ids = expected.charts.map((c) => c.id);
      // Load, one latency chart per step, failures (the flaky step failed), the generator, the processes.
      assert.deepEqual(ids, ['load', 'latency-0', 'latency-1', 'errors', 'generator', 'processes']);
      assert.equal(await b.evaluate('document.documentElement.dataset.charts'), String(ids.length));
      const charts = await b.evaluate<{ id: string; width: number; coloured: number }[]>(CHART_PIXELS);
      assert.deepEqual(charts.map((c) => c.id), ids);
      for (const chart of charts) {
        assert.ok(chart.width >= 240, JSON.stringify(chart));
        // A line across a chart colours hundreds of pixels; axes, labels and grid colour none.
        assert.ok(chart.coloured > 200, `chart ${chart.id} has no series drawn: ${JSON.stringify(chart)}`);
      }

      // Markup from the scenario is text: the only scripts are the report's own three.
      assert.equal(await b.evaluate('document.scripts.length'), 3);
      assert.equal(await b.evaluate('document.querySelectorAll("b, header script").length'), 0);
      assert.match(await b.evaluate<string>('document.querySelector("header .description").textContent'),
        /^the <script>alert\(1\)<\/script> & <b>bold<\/b> shop$/);
      assert.match(await b.evaluate<string>('document.getElementById("latency").textContent'), /Latency: list <items>/);
      assert.match(await b.evaluate<string>('document.getElementById("failures").textContent'), /503/);
      // What monitor: found: the warning in the verdict, the alert and its event in a section, a mark on the chart.
      assert.match(await b.evaluate<string>('document.querySelector("header .line").textContent'),
        / · 1 warning: alert fired: rss\(self\) > 1MB for 1s$/);
      const monitor = await b.evaluate<string>('document.getElementById("monitor").textContent');
      assert.match(monitor, /warning\s*rss\(self\) > 1MB for 1s\s*fired once, first at \d+s/);
      assert.match(monitor, /warning alert fired: rss\(self\) > 1MB for 1s \(rss\(self\) = \d+MB\)/);
      const mark = expected.charts.find((c) => c.id === 'processes')?.marks?.[0];
      assert.ok(mark !== undefined && mark.kind === 'warning' && mark.s >= 1, JSON.stringify(mark));
    });

  it('fits a phone: nothing scrolls the page sideways', { skip }, async () => {
    const b = browser!;
    await b.send('Emulation.setDeviceMetricsOverride', { width: 390, height: 844, deviceScaleFactor: 2, mobile: true });
    await b.open(pathToFileURL(`${dir}/report.html`).href);
    const width = await b.evaluate<number>('document.documentElement.scrollWidth');
    assert.ok(width <= 390, `the page is ${width}px wide on a 390px screen`);
    const charts = await b.evaluate<{ coloured: number }[]>(CHART_PIXELS);
    assert.ok(charts.every((c) => c.coloured > 100), JSON.stringify(charts));
    await b.send('Emulation.clearDeviceMetricsOverride');
  });

  it('the PDF has pages that poppler reads, and its first page is not blank', { skip }, () => {
    const pdf = `${dir}/report.pdf`;
    assert.equal(readFileSync(pdf).subarray(0, 5).toString('latin1'), '%PDF-');
    const info = spawnSync('pdfinfo', [pdf], { encoding: 'utf8' });
    assert.equal(info.status, 0, info.stderr);
    const pages = Number(/^Pages:\s+(\d+)$/m.exec(info.stdout)?.[1]);
    assert.ok(pages >= 2, info.stdout);
    // Page 1 as a PNG and as raw pixels (PPM) to count: the red FAILED header and the charts' colours are on it.
    const png = spawnSync('pdftoppm', ['-r', '40', '-f', '1', '-l', '1', '-png', '-singlefile', pdf, t.path('page')]);
    assert.equal(png.status, 0, String(png.stderr));
    assert.equal(readFileSync(t.path('page.png')).subarray(1, 4).toString('latin1'), 'PNG');
    const ppm = spawnSync('pdftoppm', ['-r', '40', '-f', '1', '-l', '1', '-singlefile', pdf, t.path('page')]);
    assert.equal(ppm.status, 0, String(ppm.stderr));
    const image = readFileSync(t.path('page.ppm'));
    const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(image.subarray(0, 40).toString('latin1'))!;
    const pixels = image.subarray(header[0].length);
    let red = 0;
    let inked = 0;
    for (let i = 0; i < pixels.length; i += 3) {
      const [r, g, b] = [pixels[i]!, pixels[i + 1]!, pixels[i + 2]!];
      if (r < 200 || g < 200 || b < 200) inked++;
      if (r > 150 && g < 80 && b < 80) red++;
    }
    const total = pixels.length / 3;
    assert.equal(total, Number(header[1]) * Number(header[2]));
    assert.ok(inked > total * 0.05, `page 1 is nearly blank: ${inked} of ${total} pixels inked`);
    assert.ok(red > 500, `no FAILED header on page 1: ${red} red pixels`);
  });

  it('without Chromium the PDF is an E_REPORT naming the package and $PERFY_CHROMIUM', { skip }, async () => {
    const out = t.path('none.pdf');
    const ran = await perfyAsync(['report', `${dir}/result.json`, '--format', 'pdf', '--out', out],
      { env: { PERFY_CHROMIUM: t.path('no-such-chromium') } });
    assert.equal(ran.status, 3, ran.stderr);
    assert.match(ran.stderr, /E_REPORT {2}the PDF report needs Chromium, and none was found/);
    assert.match(ran.stderr, /hint: .*apt-get install chromium.*\$PERFY_CHROMIUM/);
  });
});
