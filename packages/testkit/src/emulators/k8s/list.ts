import { type ListOptions, parseVersion } from './list-options.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { badRequest, expired, tooLargeResourceVersion } from './status.js';
import type { KubeObject, ObjectStore } from './store.js';

export interface ListContext {
  store: ObjectStore;
  /** Continue tokens older than this are expired, ms (the apiserver's default compaction: 5 minutes). */
  continueTokenTtl: number;
  /** How long a request for a future resourceVersion waits for it before `504 ResourceVersionTooLarge`, ms. */
  tooLargeWait: number;
  waitForVersion(rv: number, ms: number): Promise<boolean>;
}

interface ContinueToken {
  v: 'meta.k8s.io/v1';
  /** The list's version (-1: an inconsistent continuation at the newest version). */
  rv: number;
  /** Resume after this key. */
  start: string;
  /** When the first page was served (epoch ms): tokens expire like the compaction that backs them. */
  at: number;
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeContinue(text: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as ContinueToken;
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string')
      throw new Error('bad');
    return t;
  } catch {
    throw badRequest(
      `continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)`,
    );
  }
}

const CONTINUE_EXPIRED =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

/** Matches objects of one namespace (or all) against the request's selectors. */
export function objectFilter(type: ResourceType, namespace: string | undefined, o: ListOptions) {
  const labels = parseLabelSelector(o.labelSelector);
  const fields = parseFieldSelector(o.fieldSelector, type.fieldLabels);
  return (obj: KubeObject) =>
    (namespace === undefined || obj.metadata.namespace === namespace) &&
    labels(obj.metadata.labels ?? {}) &&
    fields(type.fields(obj));
}

/** Waits (bounded) for a future resourceVersion, then fails like the apiserver. */
export async function awaitVersion(ctx: ListContext, rv: number): Promise<void> {
  if (rv <= ctx.store.resourceVersion) return;
  if (await ctx.waitForVersion(rv, ctx.tooLargeWait)) return;
  throw tooLargeResourceVersion(rv, ctx.store.resourceVersion);
}

/**
 * Serves a list with the semantics of api-concepts "Semantics for get and list": no
 * resourceVersion = most recent; "0" = any (here: the newest); a value without `limit` = not older
 * than; a value with `limit`, or `resourceVersionMatch=Exact` = exactly that version (410 when
 * compacted); `continue` = the token's version, expiring with it.
 */
export async function listObjects(
  ctx: ListContext,
  type: ResourceType,
  namespace: string | undefined,
  o: ListOptions,
): Promise<Record<string, unknown>> {
  const { store } = ctx;
  const matches = objectFilter(type, namespace, o);
  let listRv: number;
  let items: KubeObject[];
  let start = '';
  if (o.continueToken !== undefined) {
    if (o.resourceVersion !== undefined && o.resourceVersion !== '0') {
      throw badRequest('specifying resource version is not allowed when using continue');
    }
    const token = decodeContinue(o.continueToken);
    start = token.start;
    if (token.rv === -1) {
      listRv = store.resourceVersion;
      items = store.current(type.plural);
    } else {
      const old = Date.now() - token.at > ctx.continueTokenTtl;
      const at = old ? undefined : store.at(type.plural, token.rv);
      if (at === undefined) {
        throw expired(
          CONTINUE_EXPIRED,
          encodeContinue({ v: 'meta.k8s.io/v1', rv: -1, start, at: Date.now() }),
        );
      }
      listRv = token.rv;
      items = at;
    }
  } else if (o.resourceVersion === undefined || o.resourceVersion === '0') {
    listRv = store.resourceVersion;
    items = store.current(type.plural);
  } else {
    const rv = parseVersion(o.resourceVersion);
    const exact = o.resourceVersionMatch === 'Exact' || (o.resourceVersionMatch === undefined && o.limit > 0);
    await awaitVersion(ctx, rv);
    if (exact) {
      const at = store.at(type.plural, rv);
      if (at === undefined) throw expired('The resourceVersion for the provided list is too old.');
      listRv = rv;
      items = at;
    } else {
      listRv = store.resourceVersion;
      items = store.current(type.plural);
    }
  }
  let selected = items.filter(matches);
  if (start !== '') {
    const key = (x: KubeObject) => `${x.metadata.namespace ?? ''}/${x.metadata.name}`;
    selected = selected.filter((x) => key(x) > start);
  }
  const metadata: Record<string, unknown> = { resourceVersion: String(listRv) };
  if (o.limit > 0 && selected.length > o.limit) {
    const page = selected.slice(0, o.limit);
    const last = page[page.length - 1]!;
    metadata.continue = encodeContinue({
      v: 'meta.k8s.io/v1',
      rv: listRv,
      start: `${last.metadata.namespace ?? ''}/${last.metadata.name}\u0000`,
      at: o.continueToken !== undefined ? decodeContinue(o.continueToken).at : Date.now(),
    });
    // Like the apiserver: the count is only known (and only sent) when no selector filters the list.
    if (o.labelSelector === undefined && o.fieldSelector === undefined) {
      metadata.remainingItemCount = selected.length - o.limit;
    }
    selected = page;
  }
  return { kind: type.listKind, apiVersion: apiVersionOf(type), metadata, items: selected };
}
