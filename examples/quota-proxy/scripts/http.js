#!/usr/bin/env node
'use strict';
// A tiny HTTP client for scripts (no curl needed):
//   node scripts/http.js METHOD URL [JSON_BODY] [--admin] [--field NAME]
// Prints the response body (or one top-level field of its JSON with
// --field); --admin sends "Authorization: Bearer $ADMIN_TOKEN". Exits 1 on
// a non-2xx answer or a connection error.
async function main() {
  const args = process.argv.slice(2);
  const admin = args.includes('--admin');
  const fieldAt = args.indexOf('--field');
  const field = fieldAt >= 0 ? args[fieldAt + 1] : undefined;
  const [method, url, body] = args.filter((a, i) => !a.startsWith('--') && (fieldAt < 0 || i !== fieldAt + 1));
  if (!method || !url) throw new Error('usage: http.js METHOD URL [JSON_BODY] [--admin] [--field NAME]');
  const headers = {};
  if (admin) headers.authorization = `Bearer ${process.env.ADMIN_TOKEN || ''}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  process.stdout.write(field === undefined ? text : String(JSON.parse(text)[field]));
}

main().catch((err) => {
  console.error(`http.js: ${err.message}`);
  process.exit(1);
});
