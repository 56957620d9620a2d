import { parseDuration } from './duration.js';
import { HttpError } from './http-error.js';
import { runProbe } from './probes.js';
import {
  type CheckRecord,
  type CheckStatus,
  type ConsulState,
  type NodeState,
  SERF_CHECK,
  type ServiceRecord,
} from './state.js';
import { validateServiceMeta } from './validation.js';

export interface AgentOptions {
  /** Smallest DeregisterCriticalServiceAfter the agent honours (Consul: 1 minute). */
  minDeregisterCriticalServiceAfter: number;
  /** Tests: reap a critical service after this long instead of its DeregisterCriticalServiceAfter. */
  reapCriticalAfter: number | undefined;
  /**
   * How a heartbeat for a check the agent does not know is answered: `404` (Consul ≥ 1.11:
   * `Unknown check ID "…"`) or `500` (older agents: `Unknown check "…"`).
   */
  unknownCheckStatus: 404 | 500;
  /** Random source in [0, 1) for the stagger before an HTTP/TCP check's first probe. */
  random: () => number;
  /** Called whenever a check of this node turns critical (sessions bound to it are invalidated). */
  onCritical: (node: string, checkId: string) => void;
}

const STATUSES: readonly CheckStatus[] = ['passing', 'warning', 'critical'];
/** ipaddr.IsAny: addresses a service must not register with. */
const ANY_ADDRESS = new Set(['0.0.0.0', '::', '[::]']);
/** checks.MinInterval: Consul raises shorter HTTP/TCP intervals to 1 s. */
const MIN_INTERVAL_MS = 1000;
const MAINT_PREFIX = '_service_maintenance:';
const MAINT_DEFAULT_REASON =
  'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.';

type Json = Record<string, unknown>;

/**
 * One node's agent: its local services and their checks, TTL timers, active probes, the critical
 * reaper. Registrations land in the datacenter's catalog under this node.
 */
export class Agent {
  readonly #state: ConsulState;
  readonly #local: NodeState;
  readonly #opts: AgentOptions;

  constructor(state: ConsulState, local: NodeState, opts: AgentOptions) {
    this.#state = state;
    this.#local = local;
    this.#opts = opts;
  }

  get node(): string {
    return this.#local.node.Node;
  }

  registerService(body: Json, replaceExistingChecks: boolean): void {
    const name = str(body.Name);
    if (!name) throw new HttpError(400, 'Missing service name');
    const id = str(body.ID) || name;
    // agent_endpoint.go: an "any" address (0.0.0.0, ::) is refused before anything else.
    const address = str(body.Address);
    if (ANY_ADDRESS.has(address)) throw new HttpError(400, 'Invalid service address');
    validateServiceMeta(body.Meta);
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
    const local = this.#local;
    const old = local.services.get(id);
    const idx = s.nextIndex();
    const record: ServiceRecord = {
      ID: id,
      Service: name,
      Tags: Array.isArray(body.Tags) ? (body.Tags as unknown[]).map(String) : [],
      Address: address,
      Port: port,
      Meta: (body.Meta as Record<string, string>) ?? {},
      Weights: { Passing: weights.Passing ?? 1, Warning: weights.Warning ?? 1 },
      EnableTagOverride: body.EnableTagOverride === true,
      CreateIndex: old?.CreateIndex ?? idx,
      ModifyIndex: idx,
    };
    local.services.set(id, record);
    if (old && old.Service !== name) s.touchService(old.Service, idx);
    const defined = new Set(parsed.map((c) => c.CheckID));
    if (replaceExistingChecks) {
      // agent.go addServiceInternal: every check of the service missing from the new definition
      // goes, the maintenance check included.
      for (const c of [...local.checks.values()])
        if (c.ServiceID === id && !defined.has(c.CheckID)) this.#dropCheck(c);
    }
    for (const c of parsed) {
      const prev = local.checks.get(c.CheckID);
      if (prev) {
        // agent.go addServiceInternal "Restore the fields from the snapshot": a re-registered check
        // keeps its current status and output, whatever Status the definition gives.
        clearTimeout(prev.timer);
        c.CreateIndex = prev.CreateIndex;
        c.Status = prev.Status;
        c.Output = prev.Output;
        c.criticalSince = prev.criticalSince;
      }
      c.CreateIndex = c.CreateIndex || idx;
      c.ModifyIndex = idx;
      c.ServiceTags = record.Tags;
      local.checks.set(c.CheckID, c);
      this.#arm(c);
    }
    for (const c of local.checks.values()) if (c.ServiceID === id) c.ServiceTags = record.Tags;
    s.touchService(name, idx);
    s.changed();
  }

  deregisterService(id: string): void {
    const s = this.#state;
    const local = this.#local;
    const svc = local.services.get(id);
    if (!svc || id === 'consul')
      throw new HttpError(
        404,
        `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`,
      );
    const idx = s.nextIndex();
    local.services.delete(id);
    for (const c of [...local.checks.values()]) if (c.ServiceID === id) this.#dropCheck(c);
    s.touchService(svc.Service, idx);
    s.changed();
  }

  maintenance(id: string, enable: boolean, reason: string | undefined): void {
    const s = this.#state;
    const checks = this.#local.checks;
    const svc = this.#local.services.get(id);
    if (!svc) throw new HttpError(404, `Unknown service ID "${id}"`);
    const checkId = MAINT_PREFIX + id;
    const idx = s.nextIndex();
    if (enable) {
      checks.set(checkId, {
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
        CreateIndex: checks.get(checkId)?.CreateIndex ?? idx,
        ModifyIndex: idx,
      });
    } else if (!checks.delete(checkId)) {
      return;
    }
    s.touchService(svc.Service, idx, false);
    s.changed();
  }

  /** `check/pass|warn|fail` and `check/update`. Only TTL checks accept status updates. */
  updateTtl(checkId: string, status: string, output: string): void {
    if (!STATUSES.includes(status as CheckStatus))
      throw new HttpError(400, `Invalid check status: "${status}"`);
    const c = this.#local.checks.get(checkId);
    if (!c) {
      // acl.go vetCheckUpdateWithAuthorizer: 404 since Consul 1.11; older agents answered 500.
      if (this.#opts.unknownCheckStatus === 500) throw new HttpError(500, `Unknown check "${checkId}"`);
      throw new HttpError(
        404,
        `Unknown check ID "${checkId}". Ensure that the check ID is passed, not the check name.`,
      );
    }
    if (c.ttlMs === undefined) throw new HttpError(500, `CheckID "${checkId}" does not have associated TTL`);
    this.#setStatus(c, status as CheckStatus, output);
    this.#armTtl(c);
  }

  listServices(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const svc of this.#local.services.values()) {
      if (svc.ID === 'consul') continue;
      out[svc.ID] = agentService(svc, this.#state.datacenter);
    }
    return out;
  }

  getService(id: string): unknown {
    const svc = this.#local.services.get(id);
    if (!svc || id === 'consul') throw new HttpError(404, `unknown service ID: ${id}`);
    return agentService(svc, this.#state.datacenter);
  }

  listChecks(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const c of this.#local.checks.values()) out[c.CheckID] = checkJson(c, this.node);
    return out;
  }

  /** Deregisters services whose check has been critical for longer than DeregisterCriticalServiceAfter. */
  reap(now: number): void {
    for (const c of [...this.#local.checks.values()]) {
      if (c.deregisterAfterMs === undefined || c.Status !== 'critical' || c.criticalSince === undefined)
        continue;
      const after = this.#opts.reapCriticalAfter ?? c.deregisterAfterMs;
      if (now - c.criticalSince >= after && this.#local.services.has(c.ServiceID)) {
        this.deregisterService(c.ServiceID);
      }
    }
  }

  /**
   * A non-dev agent coming back up (agent.go loadServices/loadChecks): the services and checks it
   * persisted are restored; every check starts critical, except a TTL check whose persisted state
   * has not expired yet (loadCheckState), which keeps its status.
   */
  restore(now: number): void {
    const s = this.#state;
    for (const c of this.#local.checks.values()) {
      clearTimeout(c.timer);
      const keep = c.Type === 'maintenance' || (c.ttlDeadline !== undefined && c.ttlDeadline > now);
      if (!keep && c.Status !== 'critical') {
        const idx = s.nextIndex();
        c.Status = 'critical';
        c.criticalSince = now;
        c.ModifyIndex = idx;
        s.touchService(c.ServiceName, idx, false);
      }
      this.#arm(c);
    }
    s.changed();
  }

  /** Stops this agent's check timers (the agent is going down). */
  stop(): void {
    this.#local.stopTimers();
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
      // agent.go addCheck: an interval below checks.MinInterval is raised to it (with a warning).
      intervalMs: interval === undefined ? undefined : Math.max(interval, MIN_INTERVAL_MS),
      timeoutMs: timeout ?? 10_000,
      deregisterAfterMs:
        dereg === undefined ? undefined : Math.max(dereg, this.#opts.minDeregisterCriticalServiceAfter),
      criticalSince: (status || 'critical') === 'critical' ? Date.now() : undefined,
    };
  }

  #arm(c: CheckRecord): void {
    if (c.ttlMs !== undefined) this.#armTtl(c);
    // checks/check.go: every interval runner waits lib.RandomStagger(Interval) before its first probe.
    else if (c.intervalMs !== undefined) this.#armProbe(c, this.#opts.random() * c.intervalMs);
  }

  #armTtl(c: CheckRecord): void {
    clearTimeout(c.timer);
    c.ttlDeadline = Date.now() + (c.ttlMs ?? 0);
    c.timer = setTimeout(() => {
      if (this.#local.checks.get(c.CheckID) === c)
        this.#setStatus(c, 'critical', `TTL expired (last output before timeout follows): ${c.Output}`);
    }, c.ttlMs);
    c.timer.unref();
  }

  #armProbe(c: CheckRecord, delay: number): void {
    clearTimeout(c.timer);
    c.timer = setTimeout(() => {
      void runProbe(c).then(({ status, output }) => {
        if (this.#local.checks.get(c.CheckID) !== c) return;
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
    if (status === 'critical') this.#opts.onCritical(this.node, c.CheckID);
  }

  #dropCheck(c: CheckRecord): void {
    clearTimeout(c.timer);
    this.#local.checks.delete(c.CheckID);
  }
}

/** Aggregate entries for `/health/service/:name`, Consul's shape (Node, Service, Checks). */
export function healthEntries(
  state: ConsulState,
  name: string,
): { entry: Json; statuses: CheckStatus[]; tags: string[] }[] {
  const out: { entry: Json; statuses: CheckStatus[]; tags: string[] }[] = [];
  for (const n of state.nodes) out.push(...nodeEntries(state, n, name));
  return out;
}

function nodeEntries(
  state: ConsulState,
  local: NodeState,
  name: string,
): { entry: Json; statuses: CheckStatus[]; tags: string[] }[] {
  const out: { entry: Json; statuses: CheckStatus[]; tags: string[] }[] = [];
  const node = local.node;
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
  const services = [...local.services.values()]
    .filter((s) => s.Service === name)
    .sort((a, b) => (a.ID < b.ID ? -1 : 1));
  for (const svc of services) {
    const checks = [...local.checks.values()].filter((c) => c.ServiceID === svc.ID);
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
