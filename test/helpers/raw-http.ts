// HTTP/1.x by hand over a unix socket, for sending what no well-behaved client would (bodies on GET, two
// lengths, pipelined requests, HTTP/1.0) and reading the answers exactly as they come.
import { createConnection } from 'node:net';

export interface RawExchange {
  /** Everything the server sent, as latin1. */
  text: string;
  /** Whether the server closed the connection before the deadline. */
  closed: boolean;
  /** Milliseconds from connecting to the close (or the deadline). */
  ms: number;
}

/**
 * Connects, writes each part (waiting `pauseMs` between them), and reads until the server closes or `untilMs`
 * passes, or `until` holds for what was read so far.
 */
export function rawExchange(socketPath: string, parts: Array<string | Buffer>, options: { untilMs?: number; pauseMs?: number; until?: (text: string) => boolean } = {}): Promise<RawExchange> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let text = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), options.untilMs ?? 5000);
    socket.on('data', (data: Buffer) => {
      text += data.toString('latin1');
      if (options.until?.(text)) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', (error: NodeJS.ErrnoException) => (text === '' && !done && error.code !== 'EPIPE' && error.code !== 'ECONNRESET' ? reject(error) : undefined));
    socket.on('connect', async () => {
      for (const [index, part] of parts.entries()) {
        if (index > 0 && options.pauseMs) await new Promise((wait) => setTimeout(wait, options.pauseMs));
        if (!socket.destroyed) socket.write(part);
      }
    });
  });
}

export interface RawAnswer {
  version: string;
  status: number;
  headers: Array<[string, string]>;
  body: string;
  chunked: boolean;
  /** Its body is all there: as long as its Content-Length, or its last chunk came (one without either runs to the close). */
  complete: boolean;
}

/** The header's value (the first of that name, any case). */
export function headerOf(answer: RawAnswer, name: string): string | undefined {
  return answer.headers.find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
}

export class IncompleteHead extends Error {}

/** Whether `text` holds `count` complete answers. */
export function holdsAnswers(text: string, count: number): boolean {
  try {
    const answers = parseAnswers(text);
    return answers.length >= count && answers.slice(0, count).every((answer) => answer.complete);
  } catch (error) {
    if (error instanceof IncompleteHead) return false;
    throw error;
  }
}

/** The answers in a stream of bytes, one after another; the last one's body runs to the end when it has no length. */
export function parseAnswers(text: string): RawAnswer[] {
  const answers: RawAnswer[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) throw new IncompleteHead(`an incomplete head: ${JSON.stringify(rest.slice(0, 200))}`);
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const status = /^(HTTP\/1\.[01]) (\d{3})/.exec(statusLine!);
    if (!status) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
    const headers = lines.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()] as [string, string]);
    const answer: RawAnswer = { version: status[1]!, status: Number(status[2]), headers, body: '', chunked: false, complete: false };
    rest = rest.slice(end + 4);
    const length = headerOf(answer, 'content-length');
    if (/chunked/i.test(headerOf(answer, 'transfer-encoding') ?? '')) {
      answer.chunked = true;
      for (;;) {
        const newline = rest.indexOf('\r\n');
        if (newline === -1) { rest = ''; break; }
        const size = parseInt(rest.slice(0, newline), 16);
        rest = rest.slice(newline + 2);
        if (size === 0) { rest = rest.slice(2); answer.complete = true; break; }
        answer.body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else if (length !== undefined) {
      answer.body = rest.slice(0, Number(length));
      answer.complete = answer.body.length === Number(length);
      rest = rest.slice(Number(length));
    } else {
      answer.body = rest;
      rest = '';
    }
    answers.push(answer);
  }
  return answers;
}

/** A request head; `headers` as lines (`Name: value`). */
export function head(method: string, target: string, headers: string[] = [], version = 'HTTP/1.1'): string {
  return `${method} ${target} ${version}\r\n${['Host: docker', ...headers].map((line) => `${line}\r\n`).join('')}\r\n`;
}
