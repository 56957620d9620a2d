import { badRequest, invalid, type StatusCause } from './status.js';

/** The query of a list or watch request, parsed and checked like `metainternalversion.ListOptions`. */
export interface ListOptions {
  watch: boolean;
  /** `undefined` when absent or empty (the two mean the same). */
  resourceVersion: string | undefined;
  resourceVersionMatch: string | undefined;
  limit: number;
  continueToken: string | undefined;
  labelSelector: string | undefined;
  fieldSelector: string | undefined;
  allowWatchBookmarks: boolean;
  sendInitialEvents: boolean | undefined;
  timeoutSeconds: number | undefined;
}

const nonEmpty = (v: string | null) => (v === null || v === '' ? undefined : v);

function bool(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw badRequest(`invalid boolean value for ${name}: ${JSON.stringify(v)}`);
}

function integer(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)}`);
  return Number(v);
}

/**
 * Parses the query and applies `ValidateListOptions` (apimachinery
 * `pkg/apis/meta/internalversion/validation`): a violation is `422 Invalid` on kind `ListOptions`.
 */
export function parseListOptions(q: URLSearchParams): ListOptions {
  const o: ListOptions = {
    watch: bool(q, 'watch') ?? false,
    resourceVersion: nonEmpty(q.get('resourceVersion')),
    resourceVersionMatch: nonEmpty(q.get('resourceVersionMatch')),
    limit: integer(q, 'limit') ?? 0,
    continueToken: nonEmpty(q.get('continue')),
    labelSelector: nonEmpty(q.get('labelSelector')),
    fieldSelector: nonEmpty(q.get('fieldSelector')),
    allowWatchBookmarks: bool(q, 'allowWatchBookmarks') ?? false,
    sendInitialEvents: bool(q, 'sendInitialEvents'),
    timeoutSeconds: integer(q, 'timeoutSeconds'),
  };
  const errs: StatusCause[] = [];
  const forbid = (field: string, message: string) =>
    errs.push({ field, reason: 'FieldValueForbidden', message: `Forbidden: ${message}` });
  const match = o.resourceVersionMatch;
  if (o.watch) {
    if (o.sendInitialEvents !== undefined) {
      if (match !== 'NotOlderThan')
        forbid(
          'resourceVersionMatch',
          'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
        );
      if (!o.allowWatchBookmarks)
        forbid('allowWatchBookmarks', 'sendInitialEvents requires setting allowWatchBookmarks to true');
    }
    if (match !== undefined) {
      if (o.sendInitialEvents === undefined)
        forbid(
          'resourceVersionMatch',
          'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
        );
      if (match !== 'NotOlderThan') {
        errs.push({
          field: 'resourceVersionMatch',
          reason: 'FieldValueNotSupported',
          message: `Unsupported value: "${match}": supported values: "NotOlderThan"`,
        });
      }
      if (o.continueToken !== undefined)
        forbid('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided');
    }
  } else {
    if (match !== undefined) {
      if (o.resourceVersion === undefined)
        forbid(
          'resourceVersionMatch',
          'resourceVersionMatch is forbidden unless resourceVersion is provided',
        );
      if (o.continueToken !== undefined)
        forbid('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided');
      if (match !== 'Exact' && match !== 'NotOlderThan') {
        errs.push({
          field: 'resourceVersionMatch',
          reason: 'FieldValueNotSupported',
          message: `Unsupported value: "${match}": supported values: "Exact", "NotOlderThan", ""`,
        });
      }
      if (match === 'Exact' && o.resourceVersion === '0')
        forbid('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
    }
    if (o.sendInitialEvents !== undefined)
      forbid('sendInitialEvents', 'sendInitialEvents is forbidden for list');
  }
  if (errs.length > 0) throw invalid('ListOptions', 'meta.k8s.io', '', errs);
  return o;
}

/** A resourceVersion given as a value ("0" and absent are handled by the callers). */
export function parseVersion(rv: string): number {
  if (!/^\d+$/.test(rv)) throw badRequest(`invalid resource version: ${JSON.stringify(rv)}`);
  return Number(rv);
}
