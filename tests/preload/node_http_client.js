// SPDX-License-Identifier: MIT
// The client for node_http_server.js: N requests, at most C in flight, each for one of the
// files in DIR (round robin), checked against what the client computes from the same file
// itself. Prints the server's OS thread count under load ("THREADS n"), the number of right
// and wrong answers, and the time taken ("TOOK s"); then stops the server.
//   node node_http_client.js PORT DIR N C
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const [port, dir, total, concurrency] = [Number(process.argv[2]), process.argv[3],
  Number(process.argv[4]), Number(process.argv[5])];
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const files = fs.readdirSync(dir).sort();

// The same computation as the server's churn(), for the answer it must give.
// The file's digest is computed once; the sum without building the strings.
const digests = new Map();
function expected(name, n) {
  if (!digests.has(name)) {
    const data = fs.readFileSync(path.join(dir, name));
    digests.set(name, { data, sha: crypto.createHash('sha256').update(data).digest('hex') });
  }
  const { data, sha } = digests.get(name);
  let sum = 0;
  for (let i = 0; i < 40000; i++) {
    const x = (i * 31 + n) % 1000;
    sum = (sum + data[i % data.length] + 3 + (x < 10 ? 1 : x < 100 ? 2 : 3)) % 1000003;
  }
  return { name, n, size: data.length, sha, sum };
}

function get(p) {
  return new Promise((resolve, reject) => {
    http.get({ port, host: '127.0.0.1', path: p, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    }).on('error', reject);
  });
}

async function main() {
  const start = process.hrtime.bigint();
  let next = 0, right = 0, wrong = 0, threads = null;
  async function worker() {
    while (next < total) {
      const n = next++;
      const name = files[n % files.length];
      const r = await get(`/f/${name}?n=${n}`);
      const want = expected(name, n);
      let got = {};
      try { got = JSON.parse(r.body); } catch (e) { /* counted as wrong below */ }
      const ok = r.status === 200 && ['name', 'n', 'size', 'sha', 'sum'].every((k) => got[k] === want[k]);
      if (ok) right++; else wrong++;
      if (n === Math.floor(total / 2)) threads = (await get('/threads')).body.trim();
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const took = Number(process.hrtime.bigint() - start) / 1e9;
  console.log('THREADS', threads);
  console.log(`answers: ${right} right, ${wrong} wrong`);
  console.log('TOOK', took.toFixed(2));
  const missing = await get('/f/no-such-file?n=0');
  console.log('missing file:', missing.status, missing.body.trim());
  console.log('quit:', (await get('/quit')).body.trim());
  agent.destroy();
}
main().catch((e) => { console.log('client error:', e.message); process.exitCode = 1; });
