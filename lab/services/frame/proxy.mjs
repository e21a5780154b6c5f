// axe-frame-proxy — lab stand-in for frame's blue/green proxy.
//
//   proxy serve            HTTP on $PORT (8080): forwards every request to the active color
//   proxy switch [COLOR]   (installed as `frame-proxy-switch`) shows or sets the active color
//
// The active color is the content of $PROXY_STATE_FILE (/state/active, on a small named
// volume), read on every request; missing = frame-mcp-blue. A switch writes a temp file
// and renames it, so a request sees either the old or the new color, never half a file.
// Requests already forwarded finish on the old color.
import { readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { request, createServer } from 'node:http';
import { dirname } from 'node:path';

const STATE_FILE = process.env.PROXY_STATE_FILE || '/state/active';
const PORT = Number(process.env.PORT || 8080);
const UPSTREAM_PORT = Number(process.env.FRAME_UPSTREAM_PORT || 8080);
const DEFAULT_COLOR = 'frame-mcp-blue';
const COLORS = ['frame-mcp-blue', 'frame-mcp-green'];
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade'];

function endToEnd(headers) {
  const out = { ...headers };
  for (const name of HOP_BY_HOP) delete out[name];
  return out;
}

function activeColor() {
  try {
    const value = readFileSync(STATE_FILE, 'utf8').trim();
    return COLORS.includes(value) ? value : DEFAULT_COLOR;
  } catch {
    return DEFAULT_COLOR;
  }
}

function serve() {
  const server = createServer((req, res) => {
    const active = activeColor();
    if (req.url === '/__proxy/health') {
      const body = JSON.stringify({ status: 'ok', active });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    // agent: false — one fresh upstream connection per request, so no request can hit
    // a keep-alive socket that the upstream is closing.
    const upstream = request(
      { host: active, port: UPSTREAM_PORT, method: req.method, path: req.url, headers: endToEnd(req.headers), agent: false },
      (up) => {
        res.writeHead(up.statusCode || 502, { ...endToEnd(up.headers), 'x-axe-frame-upstream': active });
        up.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (res.headersSent) {
        res.destroy(error);
        return;
      }
      const body = JSON.stringify({ error: 'bad gateway', upstream: active, reason: error.code || error.message });
      res.writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(PORT, '0.0.0.0', () => {
    process.stdout.write(JSON.stringify({ msg: 'frame proxy listening', port: PORT, active: activeColor() }) + '\n');
  });
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
}

function readiness(color) {
  return new Promise((resolve) => {
    const req = request({ host: color, port: UPSTREAM_PORT, path: '/health/ready', timeout: 3000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? null : `answered ${res.statusCode} on /health/ready`);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error) => resolve(`unreachable (${error.code || error.message})`));
    req.end();
  });
}

async function switchColor(args) {
  const force = args.includes('--force');
  const wanted = args.filter((a) => a !== '--force')[0];
  const current = activeColor();
  if (wanted === undefined || wanted === '--show') {
    process.stdout.write(current + '\n');
    return;
  }
  const color = wanted.startsWith('frame-mcp-') ? wanted : `frame-mcp-${wanted}`;
  if (!COLORS.includes(color)) {
    process.stderr.write(`frame-proxy-switch: unknown color ${JSON.stringify(wanted)}; use blue or green\n`);
    process.exit(2);
  }
  if (!force) {
    const reason = await readiness(color);
    if (reason) {
      process.stderr.write(`frame-proxy-switch: refusing to switch to ${color}: it ${reason}; fix it or pass --force\n`);
      process.exit(3);
    }
  }
  mkdirSync(dirname(STATE_FILE), { recursive: true });
  const tmp = `${STATE_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, color + '\n');
  renameSync(tmp, STATE_FILE);
  process.stdout.write(JSON.stringify({ active: color, previous: current }) + '\n');
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'serve') serve();
else if (command === 'switch') await switchColor(rest);
else {
  process.stderr.write('usage: proxy serve | proxy switch [blue|green|--show] [--force]\n');
  process.exit(2);
}
