// The page's only way to talk to the server. The session cookie (HttpOnly) authenticates; every
// write carries X-Switchyard-Console so another site cannot forge one.
import { toast } from './dom.js';

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? body?.error ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function call(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (method !== 'GET') {
    init.headers['content-type'] = 'application/json';
    init.headers['x-switchyard-console'] = '1';
    init.body = JSON.stringify(body ?? {});
  }
  const res = await fetch(path, init);
  const text = await res.text();
  const parsed = text ? JSON.parse(text) : {};
  if (!res.ok) throw new ApiError(res.status, parsed);
  return parsed;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body);

/**
 * A guarded action: the server answers the first request with what it will do; the operator
 * confirms (with a reason) and the same request is sent again with the single-use token.
 * Resolves with the result, or `undefined` when cancelled.
 */
export async function mutate(path, body = {}) {
  let confirmation;
  try {
    return await post(path, body);
  } catch (error) {
    if (!(error instanceof ApiError) || error.body?.error !== 'CONFIRMATION_REQUIRED') throw error;
    confirmation = error.body.confirmation;
  }
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-summary').textContent = confirmation.summary;
  const details = document.getElementById('confirm-details');
  details.textContent =
    confirmation.details === undefined ? '' : JSON.stringify(confirmation.details, null, 2);
  details.hidden = confirmation.details === undefined;
  const reason = document.getElementById('confirm-reason');
  reason.value = '';
  dialog.returnValue = '';
  dialog.showModal();
  await new Promise((resolve) => dialog.addEventListener('close', resolve, { once: true }));
  if (dialog.returnValue !== 'ok') return undefined;
  return post(path, { ...body, confirm: confirmation.token, reason: reason.value });
}

/** Server-sent events with the session cookie; `onData` gets each parsed event. Returns a stop function. */
export function subscribe(path, onData) {
  const source = new EventSource(path, { withCredentials: true });
  source.onmessage = (m) => onData(JSON.parse(m.data));
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) toast(`live updates stopped: ${path}`, true);
  };
  return () => source.close();
}

/** Runs an async action from a button, showing its error as a toast. */
export function guarded(fn) {
  return async (event) => {
    const button = event?.currentTarget;
    if (button) button.disabled = true;
    try {
      await fn(event);
    } catch (error) {
      toast(error.message, true);
    } finally {
      if (button) button.disabled = false;
    }
  };
}
