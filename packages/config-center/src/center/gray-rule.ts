import { createHash } from 'node:crypto';
import { invalidArgument } from '@switchyard/core';

const PKG = 'config-center';

/** Who gets a gray release: any instance matching one of the criteria. */
export interface GrayRule {
  /** Instance ids that get it. */
  instances?: string[];
  /** IP addresses that get it. */
  ips?: string[];
  /** Every label listed must match (`{ zone: 'a' }`). */
  labels?: Record<string, string>;
  /** 0..100: the share of instances by a consistent hash of the instance id (stable across restarts). */
  percentage?: number;
}

/** What an instance says about itself, for gray rules and provenance. */
export interface InstanceIdentity {
  id: string;
  ip?: string;
  labels?: Record<string, string>;
}

export function validateGrayRule(rule: unknown, field = 'rule'): GrayRule {
  if (typeof rule !== 'object' || rule === null) throw invalidArgument(PKG, field, 'must be an object');
  const r = rule as GrayRule;
  const known = new Set(['instances', 'ips', 'labels', 'percentage']);
  for (const k of Object.keys(r))
    if (!known.has(k)) throw invalidArgument(PKG, `${field}.${k}`, 'is not a gray rule field');
  if (
    r.percentage !== undefined &&
    (typeof r.percentage !== 'number' || !(r.percentage >= 0 && r.percentage <= 100))
  ) {
    throw invalidArgument(PKG, `${field}.percentage`, 'must be a number in 0..100');
  }
  for (const k of ['instances', 'ips'] as const) {
    const list = r[k];
    if (list !== undefined && (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || x === ''))) {
      throw invalidArgument(PKG, `${field}.${k}`, 'must be an array of non-empty strings');
    }
  }
  if (
    r.labels !== undefined &&
    (typeof r.labels !== 'object' || Object.values(r.labels).some((v) => typeof v !== 'string'))
  ) {
    throw invalidArgument(PKG, `${field}.labels`, 'must be a record of strings');
  }
  if (r.percentage === undefined && !r.instances?.length && !r.ips?.length && !r.labels) {
    throw invalidArgument(PKG, field, 'must name instances, ips, labels or a percentage');
  }
  return r;
}

/** The instance's bucket in 0..9999 for a namespace: sha-256 of `namespace:id`, stable everywhere. */
export function grayBucket(namespace: string, instanceId: string): number {
  return createHash('sha256').update(`${namespace}:${instanceId}`).digest().readUInt32BE(0) % 10_000;
}

export function matchesGray(rule: GrayRule, namespace: string, instance: InstanceIdentity): boolean {
  if (rule.instances?.includes(instance.id)) return true;
  if (instance.ip !== undefined && rule.ips?.includes(instance.ip)) return true;
  if (rule.labels && Object.keys(rule.labels).length > 0) {
    const labels = instance.labels ?? {};
    if (Object.entries(rule.labels).every(([k, v]) => labels[k] === v)) return true;
  }
  if (rule.percentage !== undefined) return grayBucket(namespace, instance.id) < rule.percentage * 100;
  return false;
}
