// STAND-IN for axllent/mailpit in tests with a private Docker engine (no registry image can be pulled
// there): an SMTP sink plus the part of Mailpit's HTTP API that tests read. Not Mailpit.
//   SMTP on MP_SMTP_BIND_ADDR (default 0.0.0.0:1025): EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no
//   TLS, no AUTH (Alertmanager's smtp_require_tls: false).
//   HTTP on MP_UI_BIND_ADDR (default 0.0.0.0:8025):
//     GET    /api/v1/messages        {total, unread, count, messages_count, start, tags, messages: [summary]}
//     GET    /api/v1/message/{ID}    the summary plus Date, Text, HTML (multipart, quoted-printable, base64)
//     GET    /api/v1/message/{ID}/raw  the message as received
//     DELETE /api/v1/messages        deletes all (or {"IDs": [...]})
//     GET    /livez, /readyz         200
// Messages are kept in memory, newest first, at most MP_MAX_MESSAGES (default 500).
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';

const MAX_MESSAGES = Number(process.env.MP_MAX_MESSAGES ?? 500) || 500;
const MAX_SIZE = 10 * 1024 * 1024;
/** @type {{ id: string, created: string, envelopeFrom: string, envelopeTo: string[], raw: string }[]} */
const messages = [];

function hostPort(text, fallbackPort) {
  const match = /^(.*):(\d+)$/.exec(text ?? '');
  return match ? { host: match[1] || '0.0.0.0', port: Number(match[2]) } : { host: '0.0.0.0', port: fallbackPort };
}

// ---- MIME, just enough for Alertmanager's and nodemailer's messages ----

function splitHead(raw) {
  const at = raw.search(/\r?\n\r?\n/);
  if (at < 0) return { head: raw, body: '' };
  return { head: raw.slice(0, at), body: raw.slice(at).replace(/^\r?\n\r?\n/, '') };
}

function parseHeaders(head) {
  /** @type {Map<string, string>} */
  const headers = new Map();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) {
      const name = line.slice(0, colon).trim().toLowerCase();
      if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
    }
  }
  return headers;
}

function decodeQuotedPrintable(text) {
  const bytes = [];
  const soft = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < soft.length; i += 1) {
    const hex = soft.slice(i + 1, i + 3);
    if (soft[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(soft[i], 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** RFC 2047 encoded words (=?UTF-8?Q?...?= and =?UTF-8?B?...?=). */
function decodeWords(text) {
  return text.replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=(\s+(?==\?))?/g, (_, charset, encoding, data) => {
    const buffer = encoding.toUpperCase() === 'B' ? Buffer.from(data, 'base64') : Buffer.from(decodeQuotedPrintable(data.replace(/_/g, ' ')), 'utf8');
    return buffer.toString(/utf-?8/i.test(charset) ? 'utf8' : 'latin1');
  });
}

function decodeBody(body, encoding) {
  const kind = (encoding ?? '').toLowerCase();
  if (kind === 'quoted-printable') return decodeQuotedPrintable(body);
  if (kind === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}

/** The text/plain and text/html parts of a message (nested multiparts included). */
function bodies(raw) {
  const { head, body } = splitHead(raw);
  const headers = parseHeaders(head);
  const type = headers.get('content-type') ?? 'text/plain';
  const result = { text: '', html: '' };
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    const parts = body.split(`--${boundary}`).slice(1);
    for (const part of parts) {
      if (part.startsWith('--')) break;
      const inner = bodies(part.replace(/^\r?\n/, ''));
      result.text ||= inner.text;
      result.html ||= inner.html;
    }
  } else if (/^text\/html/i.test(type)) result.html = decodeBody(body, headers.get('content-transfer-encoding'));
  else if (/^text\//i.test(type)) result.text = decodeBody(body, headers.get('content-transfer-encoding'));
  return result;
}

function addresses(text) {
  if (!text) return [];
  return decodeWords(text).split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/).map((part) => part.trim()).filter(Boolean).map((part) => {
    const match = /^(.*?)\s*<([^>]+)>$/.exec(part);
    return match ? { Name: match[1].replace(/^"|"$/g, ''), Address: match[2] } : { Name: '', Address: part };
  });
}

function summary(message) {
  const headers = parseHeaders(splitHead(message.raw).head);
  const { text, html } = bodies(message.raw);
  const snippetSource = text || html.replace(/<style[\s\S]*?<\/style>/gi, '').replace(/<[^>]+>/g, ' ');
  return {
    ID: message.id,
    MessageID: (headers.get('message-id') ?? '').replace(/^<|>$/g, ''),
    Read: false,
    From: addresses(headers.get('from'))[0] ?? { Name: '', Address: message.envelopeFrom },
    To: addresses(headers.get('to')),
    Cc: addresses(headers.get('cc')),
    Bcc: [],
    ReplyTo: addresses(headers.get('reply-to')),
    Subject: decodeWords(headers.get('subject') ?? ''),
    Created: message.created,
    Tags: [],
    Size: Buffer.byteLength(message.raw),
    Attachments: 0,
    Snippet: snippetSource.replace(/\s+/g, ' ').trim().slice(0, 250),
  };
}

// ---- SMTP ----

const smtp = createTcpServer((socket) => {
  socket.setEncoding('utf8');
  let buffer = '';
  let envelope = { from: '', to: /** @type {string[]} */ ([]) };
  let inData = false;
  let data = '';
  const reply = (line) => socket.write(`${line}\r\n`);
  reply('220 mailpit-standin ESMTP (a test stand-in, not Mailpit)');
  socket.on('error', () => {});
  socket.on('data', (chunk) => {
    buffer += chunk;
    for (;;) {
      if (inData) {
        const end = buffer.indexOf('\r\n.\r\n');
        const start = data === '' && buffer.startsWith('.\r\n') ? 0 : -1;
        if (end < 0 && start < 0) {
          if (buffer.length > MAX_SIZE) { reply('552 message too large'); socket.end(); }
          return;
        }
        const cut = start === 0 ? 0 : end + 2;
        data += buffer.slice(0, cut);
        buffer = buffer.slice(cut + 3);
        inData = false;
        const raw = data.split('\r\n').map((line) => (line.startsWith('..') ? line.slice(1) : line)).join('\r\n');
        const message = { id: randomUUID(), created: new Date().toISOString(), envelopeFrom: envelope.from, envelopeTo: envelope.to, raw };
        messages.unshift(message);
        messages.splice(MAX_MESSAGES);
        data = '';
        envelope = { from: '', to: [] };
        reply(`250 2.0.0 Ok: queued as ${message.id}`);
        continue;
      }
      const newline = buffer.indexOf('\r\n');
      if (newline < 0) return;
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 2);
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO') { reply('250-mailpit-standin'); reply('250-8BITMIME'); reply('250-SMTPUTF8'); reply(`250 SIZE ${MAX_SIZE}`); }
      else if (verb === 'HELO') reply('250 mailpit-standin');
      else if (verb === 'MAIL') { envelope = { from: /<([^>]*)>/.exec(line)?.[1] ?? '', to: [] }; reply('250 2.1.0 Ok'); }
      else if (verb === 'RCPT') { envelope.to.push(/<([^>]*)>/.exec(line)?.[1] ?? ''); reply('250 2.1.5 Ok'); }
      else if (verb === 'DATA') {
        if (envelope.to.length === 0) reply('554 5.5.1 no valid recipients');
        else { inData = true; reply('354 End data with <CR><LF>.<CR><LF>'); }
      } else if (verb === 'RSET') { envelope = { from: '', to: [] }; reply('250 2.0.0 Ok'); }
      else if (verb === 'NOOP') reply('250 2.0.0 Ok');
      else if (verb === 'QUIT') { reply('221 2.0.0 Bye'); socket.end(); return; }
      else reply('502 5.5.2 command not implemented');
    }
  });
});

// ---- HTTP API ----

const http = createHttpServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://mailpit');
  const send = (status, body, type = 'application/json') => {
    res.writeHead(status, { 'content-type': type });
    res.end(type === 'application/json' ? JSON.stringify(body) : body);
  };
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    if (url.pathname === '/livez' || url.pathname === '/readyz') return send(200, 'ok', 'text/plain');
    if (url.pathname === '/api/v1/messages' && req.method === 'GET') {
      const start = Number(url.searchParams.get('start') ?? 0) || 0;
      const limit = Number(url.searchParams.get('limit') ?? 50) || 50;
      const page = messages.slice(start, start + limit).map(summary);
      return send(200, { total: messages.length, unread: messages.length, count: page.length, messages_count: messages.length, start, tags: [], messages: page });
    }
    if (url.pathname === '/api/v1/messages' && req.method === 'DELETE') {
      let ids;
      try { ids = body ? JSON.parse(body).IDs : undefined; } catch { return send(400, 'invalid JSON', 'text/plain'); }
      if (Array.isArray(ids) && ids.length > 0) {
        for (let i = messages.length - 1; i >= 0; i -= 1) if (ids.includes(messages[i].id)) messages.splice(i, 1);
      } else messages.splice(0);
      return send(200, 'ok', 'text/plain');
    }
    const match = /^\/api\/v1\/message\/([^/]+)(\/raw)?$/.exec(url.pathname);
    if (match && req.method === 'GET') {
      const message = match[1] === 'latest' ? messages[0] : messages.find((candidate) => candidate.id === match[1]);
      if (!message) return send(404, 'message not found', 'text/plain');
      if (match[2]) return send(200, message.raw, 'text/plain; charset=utf-8');
      const headers = parseHeaders(splitHead(message.raw).head);
      const { text, html } = bodies(message.raw);
      return send(200, { ...summary(message), ReturnPath: message.envelopeFrom, Date: headers.get('date') ?? message.created, Text: text, HTML: html, Inline: [], Attachments: [] });
    }
    return send(404, 'not found', 'text/plain');
  });
});

const smtpAddress = hostPort(process.env.MP_SMTP_BIND_ADDR, 1025);
const httpAddress = hostPort(process.env.MP_UI_BIND_ADDR, 8025);
smtp.listen(smtpAddress.port, smtpAddress.host, () => console.log(`mailpit stand-in: SMTP on ${smtpAddress.host}:${smtpAddress.port}`));
http.listen(httpAddress.port, httpAddress.host, () => console.log(`mailpit stand-in: HTTP on ${httpAddress.host}:${httpAddress.port}`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => { smtp.close(); http.close(); process.exit(0); });
