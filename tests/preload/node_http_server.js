// SPDX-License-Identifier: MIT
// An HTTP server in Node.js whose handlers keep V8's garbage collector busy: GET /f/NAME?n=I
// reads the file DIR/NAME (fs.readFile: libuv's thread pool), builds a few MB of objects and
// strings from it, and answers a JSON digest of the file and of what it built. GET /threads
// answers the OS thread count of the process, GET /quit stops the server. Prints "PORT n".
//   node node_http_server.js DIR
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const dir = process.argv[2];

// About 4 MB of short-lived objects and strings per request, for the GC.
function churn(data, n) {
  const rows = [];
  for (let i = 0; i < 40000; i++) rows.push({ i, s: 'row' + ((i * 31 + n) % 1000), b: data[i % data.length] });
  let sum = 0;
  for (const r of rows) sum = (sum + r.b + r.s.length) % 1000003;
  const text = JSON.stringify(rows.slice(0, 2000));
  return { sum, textLength: text.length };
}

function threads() {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  return status.match(/^Threads:\s+(\d+)/m)[1];
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/threads') return res.end(threads() + '\n');
  if (url.pathname === '/quit') {
    res.end('bye\n');
    return server.close();
  }
  const name = path.basename(url.pathname);
  fs.readFile(path.join(dir, name), (err, data) => {
    if (err) {
      res.statusCode = 404;
      return res.end(err.code + '\n');
    }
    const n = Number(url.searchParams.get('n'));
    const { sum, textLength } = churn(data, n);
    const sha = crypto.createHash('sha256').update(data).digest('hex');
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ name, n, size: data.length, sha, sum, textLength }));
  });
});
server.listen(0, '127.0.0.1', () => console.log('PORT', server.address().port));
server.on('close', () => console.log('stopped'));
