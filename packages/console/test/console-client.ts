export type Reply = Omit<Response, 'json'> & { json(): Promise<any> };

/** A test client that behaves like the page: same-origin header, the session cookie. */
export function consoleClient(url: string) {
  let cookie = '';
  const headers = (extra: Record<string, string> = {}) => ({ ...(cookie ? { cookie } : {}), ...extra });
  const client = {
    get: (path: string): Promise<Reply> => fetch(`${url}${path}`, { headers: headers() }),
    async post(path: string, body: unknown): Promise<Reply> {
      const res = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: headers({ 'content-type': 'application/json', 'x-switchyard-console': '1', origin: url }),
        body: JSON.stringify(body),
      });
      const set = res.headers.get('set-cookie');
      if (set) cookie = set.split(';')[0]!;
      return res;
    },
    async login(token: string) {
      const res = await client.post('/api/login', { token });
      if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
      return client;
    },
  };
  return client;
}

type Json = any;

/** Reads `data:` events of an SSE response one by one. */
export function readEvents(res: Reply): {
  next(): Promise<Json>;
  until(pred: (e: Json) => boolean, ms?: number): Promise<Json>;
  close(): Promise<void>;
  done: Promise<void>;
} {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const queue: unknown[] = [];
  const waiters: (() => void)[] = [];
  let buffer = '';
  const done = (async () => {
    try {
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) return;
        buffer += decoder.decode(value, { stream: true });
        let i = buffer.indexOf('\n\n');
        while (i >= 0) {
          const chunk = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const data = chunk
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          if (data) {
            queue.push(JSON.parse(data));
            for (const w of waiters.splice(0)) w();
          }
          i = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // cancelled
    }
  })();
  const next = async (ms = 5000) => {
    const deadline = Date.now() + ms;
    while (queue.length === 0) {
      if (Date.now() > deadline) throw new Error('no event in time');
      await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise((r) => setTimeout(r, 50))]);
    }
    return queue.shift();
  };
  return {
    next,
    async until(pred, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const e = await next(Math.max(1, deadline - Date.now()));
        if (pred(e)) return e;
      }
    },
    async close() {
      await reader.cancel().catch(() => {});
      await done;
    },
    done,
  };
}
