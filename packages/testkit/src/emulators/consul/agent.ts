import { parseDuration } from './duration.js';
import { HttpError } from './http-error.js';
import { runProbe } from './probes.js';
import {
  type CheckRecord,
  type CheckStatus,
  type ConsulState,
  SERF_CHECK,
  type ServiceRecord,
} from './state.js';

export interface AgentOptions {
  /** Smallest DeregisterCriticalServiceAfter the agent honours (Consul: 1 minute). */
  minDeregisterCriticalServiceAfter: number;
  /** Called whenever a check turns critical (sessions bound to it are invalidated). */
  onCritical: (checkId: string) => void;
}

const STATUSES: readonly CheckStatus[] = ['passing', 'warning', 'critical'];
const MAINT_PREFIX = '_service_maintenance:';
const MAINT_DEFAULT_REASON =
  'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.';

type Json = Record<string, unknown>;

/** Agent endpoints: local services and their checks, TTL timers, active probes, the critical reaper. */
export class Agent {
  readonly #state: ConsulState;
  readonly #opts: AgentOptions;

  constructor(state: ConsulState, opts: AgentOptions) {
    this.#state = state;
    this.#opts = opts;
  }

  registerService(body: Json, replaceExistingChecks: boolean): void {
    const name = str(body.Name);
    if (!name) throw new HttpError(400, 'Missing service name');
    const id = str(body.ID) || name;
    const port = body.Port === undefined ? 0 : Number(body.Port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new HttpError(400, 'Invalid service port');
    const weights = (body.Weights ?? { Passing: 1, Warning: 1 }) as { Passing?: number; Warning?: number };
    if ((weights.Passing ?? 0) < 1)
      throw new HttpError(400, 'Invalid Weights: Passing must be greater than 0');
    if ((weights.Warning ?? 0) < 0)
      throw new HttpError(400, 'Invalid Weights: Warning must be greater or equal than 0');
    const checkDefs: Json[] = [];
    if (body.Check && typeof body.Check === 'object') checkDefs.push(body.Check as Json);
    if (Array.isArray(body.Checks)) checkDefs.push(...(body.Checks as Json[]));
    const parsed = checkDefs.map((def, i) =>
      this.#parseCheck(def, id, name, checkDefs.length > 1 ? i + 1 : 0),
    );

    const s = this.#state;
    const old = s.services.get(id);
    const idx = s.nextIndex();
    const record: ServiceRecord = {
      ID: id,
      Service: name,
      Tags: Array.isArray(body.Tags) ? (body.Tags as unknown[]).map(String) : [],
      Address: str(body.Address),
      Port: port,
      Meta: (body.Meta as Record<string, string>) ?? {},
      Weights: { Passing: weights.Passing ?? 1, Warning: weights.Warning ?? 1 },
      EnableTagOverride: body.EnableTagOverride === true,
      CreateIndex: old?.CreateIndex ?? idx,
      ModifyIndex: idx,
    };
    if (old && old.Service !== name) s.touchService(old.Service, idx);
    s.services.set(id, record);
    if (replaceExistingChecks) {
      for (const c of [...s.checks.values()])
        if (c.ServiceID === id && !c.CheckID.startsWith(MAINT_PREFIX)) this.#dropCheck(c);
    }
    parsed.forEach((c, i) => {
      const prev = s.checks.get(c.CheckID);
      if (prev) {
        // Re-registering keeps a check's current status unless a status is given (Consul keeps state).
        clearTimeout(prev.timer);
        c.CreateIndex = prev.CreateIndex;
        if (!checkDefs[i]?.Status) {
          c.Status = prev.Status;
          c.Output = prev.Output;
          c.criticalSince = prev.criticalSince;
        }
      }
      c.CreateIndex = c.CreateIndex || idx;
      c.ModifyIndex = idx;
      c.ServiceTags = record.Tags;
      s.checks.set(c.CheckID, c);
      this.#arm(c);
    });
    for (const c of s.checks.values()) if (c.ServiceID === id) c.ServiceTags = record.Tags;
    s.touchService(name, idx);
    s.changed();
  }

  deregisterService(id: string): void {
    const s = this.#state;
    const svc = s.services.get(id);
    if (!svc || id === 'consul')
      throw new HttpError(
        404,
        `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`,
      );
    const idx = s.nextIndex();
    s.services.delete(id);
    for (const c of [...s.checks.values()]) if (c.ServiceID === id) this.#dropCheck(c);
    s.touchService(svc.Service, idx);
    s.changed();
  }

  maintenance(id: string, enable: boolean, reason: string | undefined): void {
    const s = this.#state;
    const svc = s.services.get(id);
    if (!svc) throw new HttpError(404, `Unknown service ID "${id}"`);
    const checkId = MAINT_PREFIX + id;
    const idx = s.nextIndex();
    if (enable) {
      s.checks.set(checkId, {
        CheckID: checkId,
        Name: 'Service Maintenance Mode',
        Status: 'critical',
        Notes: reason || MAINT_DEFAULT_REASON,
        Output: '',
        ServiceID: id,
        ServiceName: svc.Service,
        ServiceTags: svc.Tags,
        Type: 'maintenance',
        Interval: '',
        Timeout: '',
        CreateIndex: s.checks.get(checkId)?.CreateIndex ?? idx,
        ModifyIndex: idx,
      });
    } else if (!s.checks.delete(checkId)) {
      return;
    }
    s.touchService(svc.Service, idx, false);
    s.changed();
  }

  /** `check/pass|warn|fail` and `check/update`. Only TTL checks accept status updates. */
  updateTtl(checkId: string, status: string, output: string): void {
    if (!STATUSES.includes(status as CheckStatus))
      throw new HttpError(400, `Invalid check status: "${status}"`);
    const c = this.#state.checks.get(checkId);
    if (!c)
      throw new HttpError(
        404,
        `Unknown check ID "${checkId}". Ensure that the check ID is passed, not the check name.`,
      );
    if (c.ttlMs === undefined) throw new HttpError(500, `CheckID "${checkId}" does not have associated TTL`);
    this.#setStatus(c, status as CheckStatus, output);
    this.#armTtl(c);
  }

  listServices(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const svc of this.#state.services.values()) {
      if (svc.ID === 'consul') continue;
      out[svc.ID] = agentService(svc, this.#state.datacenter);
    }
    return out;
  }

  getService(id: string): unknown {
    const svc = this.#state.services.get(id);
    if (!svc || id === 'consul') throw new HttpError(404, `unknown service ID: ${id}`);
    return agentService(svc, this.#state.datacenter);
  }

  listChecks(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const c of this.#state.checks.values()) out[c.CheckID] = checkJson(c, this.#state.node.Node);
    return out;
  }

  /** Deregisters services whose check has been critical for longer than DeregisterCriticalServiceAfter. */
  reap(now: number): void {
    for (const c of [...this.#state.checks.values()]) {
      if (c.deregisterAfterMs === undefined || c.Status !== 'critical' || c.criticalSince === undefined)
        continue;
      if (now - c.criticalSince >= c.deregisterAfterMs && this.#state.services.has(c.ServiceID)) {
        this.deregisterService(c.ServiceID);
      }
    }
  }

  #parseCheck(def: Json, serviceId: string, serviceName: string, ordinal: number): CheckRecord {
    const checkId =
      str(def.CheckID) ||
      str(def.ID) ||
      (ordinal ? `service:${serviceId}:${ordinal}` : `service:${serviceId}`);
    const ttl = parseDuration(str(def.TTL) || undefined);
    const interval = parseDuration(str(def.Interval) || undefined);
    const timeout = parseDuration(str(def.Timeout) || undefined);
    const dereg = parseDuration(str(def.DeregisterCriticalServiceAfter) || undefined);
    const http = str(def.HTTP);
    const tcp = str(def.TCP);
    let type: string;
    if (ttl !== undefined) type = 'ttl';
    else if (http && interval) type = 'http';
    else if (tcp && interval) type = 'tcp';
    else throw new HttpError(400, 'Invalid check: TTL or HTTP/TCP with Interval must be specified');
    const status = str(def.Status) as CheckStatus;
    if (status && !STATUSES.includes(status)) throw new HttpError(400, `Invalid check status: "${status}"`);
    return {
      CheckID: checkId,
      Name: str(def.Name) || `Service '${serviceName}' check`,
      Status: status || 'critical',
      Notes: str(def.Notes),
      Output: '',
      ServiceID: serviceId,
      ServiceName: serviceName,
      ServiceTags: [],
      Type: type,
      Interval: str(def.Interval),
      Timeout: str(def.Timeout),
      CreateIndex: 0,
      ModifyIndex: 0,
      ttlMs: ttl,
      http: http
        ? {
            url: http,
            method: str(def.Method) || 'GET',
            header: (def.Header as Record<string, string[]>) ?? {},
          }
        : undefined,
      tcp: tcp || undefined,
      intervalMs: interval,
      timeoutMs: timeout ?? 10_000,
      deregisterAfterMs:
        dereg === undefined ? undefined : Math.max(dereg, this.#opts.minDeregisterCriticalServiceAfter),
      criticalSince: (status || 'critical') === 'critical' ? Date.now() : undefined,
    };
  }

  #arm(c: CheckRecord): void {
    if (c.ttlMs !== undefined) this.#armTtl(c);
    else if (c.intervalMs !== undefined) this.#armProbe(c, 0);
  }

  #armTtl(c: CheckRecord): void {
    clearTimeout(c.timer);
    c.timer = setTimeout(() => {
      if (this.#state.checks.get(c.CheckID) === c)
        this.#setStatus(c, 'critical', `TTL expired (last output before timeout follows): ${c.Output}`);
    }, c.ttlMs);
    c.timer.unref();
  }

  #armProbe(c: CheckRecord, delay: number): void {
    clearTimeout(c.timer);
    c.timer = setTimeout(() => {
      void runProbe(c).then(({ status, output }) => {
        if (this.#state.checks.get(c.CheckID) !== c) return;
        this.#setStatus(c, status, output);
        this.#armProbe(c, c.intervalMs ?? 10_000);
      });
    }, delay);
    c.timer.unref();
  }

  #setStatus(c: CheckRecord, status: CheckStatus, output: string): void {
    const s = this.#state;
    if (c.Status === status) {
      // Output-only changes are not synced at once: Consul defers them (check_update_interval, 5 min),
      // so they do not move the index or wake blocking queries.
      c.Output = output;
      return;
    }
    const idx = s.nextIndex();
    if (status === 'critical' && c.Status !== 'critical') c.criticalSince = Date.now();
    if (status !== 'critical') c.criticalSince = undefined;
    c.Status = status;
    c.Output = output;
    c.ModifyIndex = idx;
    s.touchService(c.ServiceName, idx, false);
    s.changed();
    if (status === 'critical') this.#opts.onCritical(c.CheckID);
  }

  #dropCheck(c: CheckRecord): void {
    clearTimeout(c.timer);
    this.#state.checks.delete(c.CheckID);
  }
}

/** Aggregate entries for `/health/service/:name`, Consul's shape (Node, Service, Checks). */
export function healthEntries(
  state: ConsulState,
  name: string,
): { entry: Json; statuses: CheckStatus[]; tags: string[] }[] {
  const out: { entry: Json; statuses: CheckStatus[]; tags: string[] }[] = [];
  const node = state.node;
  const serf: Json = {
    Node: node.Node,
    CheckID: SERF_CHECK,
    Name: 'Serf Health Status',
    Status: 'passing',
    Notes: '',
    Output: 'Agent alive and reachable',
    ServiceID: '',
    ServiceName: '',
    ServiceTags: [],
    Type: '',
    Interval: '',
    Timeout: '',
    CreateIndex: node.CreateIndex,
    ModifyIndex: node.CreateIndex,
  };
  const services = [...state.services.values()]
    .filter((s) => s.Service === name)
    .sort((a, b) => (a.ID < b.ID ? -1 : 1));
  for (const svc of services) {
    const checks = [...state.checks.values()].filter((c) => c.ServiceID === svc.ID);
    const checkJsons = [serf, ...checks.map((c) => checkJson(c, node.Node))];
    out.push({
      entry: {
        Node: {
          ID: node.ID,
          Node: node.Node,
          Address: node.Address,
          Datacenter: node.Datacenter,
          TaggedAddresses: node.TaggedAddresses,
          Meta: node.Meta,
          CreateIndex: node.CreateIndex,
          ModifyIndex: node.ModifyIndex,
        },
        Service: catalogService(svc, state.datacenter),
        Checks: checkJsons,
      },
      statuses: ['passing', ...checks.map((c) => c.Status)],
      tags: svc.Tags,
    });
  }
  return out;
}

export function checkJson(c: CheckRecord, node: string): Json {
  return {
    Node: node,
    CheckID: c.CheckID,
    Name: c.Name,
    Status: c.Status,
    Notes: c.Notes,
    Output: c.Output,
    ServiceID: c.ServiceID,
    ServiceName: c.ServiceName,
    ServiceTags: c.ServiceTags,
    Type: c.Type,
    Interval: c.Interval,
    Timeout: c.Timeout,
    ExposedPort: 0,
    Definition: {},
    CreateIndex: c.CreateIndex,
    ModifyIndex: c.ModifyIndex,
  };
}

function catalogService(svc: ServiceRecord, dc: string): Json {
  return {
    ID: svc.ID,
    Service: svc.Service,
    Tags: svc.Tags,
    Address: svc.Address,
    Meta: svc.Meta,
    Port: svc.Port,
    Weights: svc.Weights,
    EnableTagOverride: svc.EnableTagOverride,
    Proxy: { Mode: '', MeshGateway: {}, Expose: {} },
    Connect: {},
    PeerName: '',
    Datacenter: dc,
    CreateIndex: svc.CreateIndex,
    ModifyIndex: svc.ModifyIndex,
  };
}

function agentService(svc: ServiceRecord, dc: string): Json {
  const { CreateIndex: _c, ModifyIndex: _m, ...rest } = catalogService(svc, dc) as Json;
  return { Kind: '', ...rest, Datacenter: dc };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
