import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, HttpError } from './http-error.js';

const MAX_BODY = 1024 * 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

/** The request's JSON object body (`{}` when empty); 413 past 1 MiB, 400 when not an object. */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'TOO_LARGE', 'the request body is over 1 MiB');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw badRequest('body', 'is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw badRequest('body', 'must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

const toJson = (data: unknown) => JSON.stringify(data, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));

/**
 * One server-sent event encoded once (`encodeEvent`): a feed shared by many subscribers writes the
 * same frame to each of them instead of encoding it per subscriber.
 */
export class EventFrame {
  constructor(readonly text: string) {}
}

export function encodeEvent(data: unknown): EventFrame {
  return new EventFrame(`data: ${toJson(data)}\n\n`);
}

/**
 * Starts a server-sent-events reply and returns its `send`. A comment line every 15 s keeps
 * proxies from closing an idle stream; it stops with `signal`.
 */
export function startEventStream(res: ServerResponse, signal: AbortSignal): (data: unknown) => void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  res.write(': stream open\n\n');
  const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
  ping.unref();
  signal.addEventListener('abort', () => clearInterval(ping), { once: true });
  return (data) => {
    if (signal.aborted) return;
    res.write(data instanceof EventFrame ? data.text : `data: ${toJson(data)}\n\n`);
  };
}
