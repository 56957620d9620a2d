import { badRequest } from './status.js';

/**
 * Label and field selectors with the grammar of `k8s.io/apimachinery/pkg/labels` and `…/fields`:
 * labels take `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k>n`, `k<n`
 * (comma = AND; `!=` and `notin` also match objects without the key); fields take `=`, `==`, `!=`
 * on the fields a resource supports (any other field is a 400, like the apiserver).
 */
export type Matcher = (labels: Readonly<Record<string, string>>) => boolean;

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-_.a-z0-9A-Z]*[a-z0-9A-Z])?$/;
const VALUE = /^([a-z0-9A-Z]([-_.a-z0-9A-Z]*[a-z0-9A-Z])?)?$/;

/** Splits on commas that are not inside parentheses. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function checkKey(key: string, source: string): string {
  if (!KEY.test(key) || key.length > 316) {
    throw badRequest(
      `unable to parse requirement: <nil>: Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.' (in selector "${source}")`,
    );
  }
  return key;
}

function checkValue(value: string, source: string): string {
  if (!VALUE.test(value) || value.length > 63) {
    throw badRequest(
      `unable to parse requirement: values[0][${value}]: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.' (in selector "${source}")`,
    );
  }
  return value;
}

function requirement(raw: string, source: string): Matcher {
  const text = raw.trim();
  const set = text.match(/^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/);
  const binary = text.match(/^([^!=<>\s]+)\s*(==|=|!=|>|<)\s*(\S*)$/);
  const absent = text.match(/^!\s*(\S+)$/);
  if (set) {
    const m = set;
    const key = checkKey(m[1]!, source);
    const values = new Set(
      m[3]!
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '')
        .map((v) => checkValue(v, source)),
    );
    if (values.size === 0)
      throw badRequest(
        `unable to parse requirement: for 'in', 'notin' operators, values set can't be empty (in selector "${source}")`,
      );
    return m[2] === 'in'
      ? (l) => Object.hasOwn(l, key) && values.has(l[key]!)
      : (l) => !Object.hasOwn(l, key) || !values.has(l[key]!);
  }
  if (binary) {
    const m = binary;
    const key = checkKey(m[1]!, source);
    const op = m[2]!;
    const value = m[3]!;
    if (op === '>' || op === '<') {
      const n = Number(value);
      if (!/^-?\d+$/.test(value))
        throw badRequest(
          `unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer (in selector "${source}")`,
        );
      return (l) => {
        const have = l[key];
        if (have === undefined || !/^-?\d+$/.test(have)) return false;
        return op === '>' ? Number(have) > n : Number(have) < n;
      };
    }
    checkValue(value, source);
    return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  if (absent) {
    const key = checkKey(absent[1]!, source);
    return (l) => !Object.hasOwn(l, key);
  }
  if (text !== '') {
    const key = checkKey(text, source);
    return (l) => Object.hasOwn(l, key);
  }
  throw badRequest(`unable to parse requirement: found '', expected: identifier (in selector "${source}")`);
}

/** Parses a label selector; an empty or absent one matches everything. Throws a 400 `Status` when invalid. */
export function parseLabelSelector(source: string | null | undefined): Matcher {
  if (source === null || source === undefined || source.trim() === '') return () => true;
  const reqs = splitTop(source).map((r) => requirement(r, source));
  return (labels) => reqs.every((r) => r(labels));
}

/** Parses a field selector over `fields` (the resource's supported field labels). */
export function parseFieldSelector(
  source: string | null | undefined,
  supported: readonly string[],
): (fields: Readonly<Record<string, string>>) => boolean {
  if (source === null || source === undefined || source.trim() === '') return () => true;
  const reqs = source.split(',').map((raw) => {
    const m = raw.trim().match(/^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid selector: '${source}'; can't understand '${raw}'`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    if (!supported.includes(field)) throw badRequest(`field label not supported: ${field}`);
    return (f: Readonly<Record<string, string>>) => (op === '!=' ? f[field] !== value : f[field] === value);
  });
  return (fields) => reqs.every((r) => r(fields));
}
