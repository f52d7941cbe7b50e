import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { envSchema } from '../../src/config/env-schema.js';
import { parseConfig } from '../../src/config/parse-config.js';

/*
 * No Docker engine runs in CI, so the deployment files are checked by reading them: the
 * compose file must describe a working two-node cluster, and .env.example must list every
 * variable the gateway reads, with its default.
 */

const root = new URL('../../', import.meta.url);
const read = (file: string): string => readFileSync(new URL(file, root), 'utf8');

const schemaKeys = Object.keys(envSchema.shape);
const GATEWAYS = ['gateway-1', 'gateway-2'] as const;
const SHARED_SECRETS = ['TICKET_SECRET', 'AUTH_HS256_SECRET', 'PUBLISHER_KEYS'] as const;

interface Service {
  image?: string;
  profiles?: string[];
  build?: unknown;
  command?: unknown;
  environment?: Record<string, unknown> | string[];
  healthcheck?: { test?: unknown; disable?: boolean };
  depends_on?: Record<string, { condition?: string }> | string[];
  ports?: (string | { published?: string | number; target?: number; host_ip?: string })[];
  volumes?: unknown[];
}

interface ComposeFile {
  services?: Record<string, Service>;
}

// Compose resolves YAML merge keys (`<<: *anchor`); so must the parser.
const compose = parse(read('docker-compose.yml'), { merge: true }) as ComposeFile;
const services = compose.services ?? {};

function environmentOf(service: Service | undefined): Record<string, string> {
  const env = service?.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const i = entry.indexOf('=');
        return i < 0 ? [entry, ''] : [entry.slice(0, i), entry.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v == null ? '' : String(v)]));
}

interface PublishedPort {
  hostIp: string | undefined;
  published: number;
  target: number;
}

function portsOf(service: Service | undefined): PublishedPort[] {
  return (service?.ports ?? []).map((port) => {
    if (typeof port === 'object') {
      return {
        hostIp: port.host_ip,
        published: Number(port.published),
        target: Number(port.target),
      };
    }
    const m = /^(?:(.+):)?(\d+):(\d+)(?:\/(?:tcp|udp))?$/.exec(String(port));
    if (!m) throw new Error(`unsupported port syntax in docker-compose.yml: ${String(port)}`);
    return { hostIp: m[1], published: Number(m[2]), target: Number(m[3]) };
  });
}

/** The listener ports the container uses: its environment, else the schema defaults. */
function listenerPorts(env: Record<string, string>): { public: number; internal: number } {
  const parsed = envSchema.parse({ PORT: env.PORT, INTERNAL_PORT: env.INTERNAL_PORT });
  return { public: parsed.PORT, internal: parsed.INTERNAL_PORT };
}

describe('docker-compose.yml', () => {
  it('defines redis and two gateway nodes', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['redis', ...GATEWAYS]));
  });

  it('runs an ephemeral redis with a ping healthcheck', () => {
    const redis = services.redis;
    expect(JSON.stringify(redis?.healthcheck?.test)).toContain('redis-cli');
    expect(JSON.stringify(redis?.healthcheck?.test)).toContain('ping');
    // Care teams, blocks and audit checkpoints must survive a Redis restart.
    expect(redis?.command).toEqual([
      'redis-server',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
    ]);
    expect(redis?.volumes).toEqual(['redis-data:/data']);
  });

  it.each(GATEWAYS)('%s builds the gateway image and waits for a healthy redis', (name) => {
    const gateway = services[name];
    expect(gateway?.build).toBeDefined();
    const dependsOn = gateway?.depends_on;
    expect(Array.isArray(dependsOn)).toBe(false);
    expect((dependsOn as Record<string, { condition?: string }>).redis?.condition).toBe(
      'service_healthy',
    );
  });

  it.each(GATEWAYS)('%s has a readiness healthcheck on its internal listener', (name) => {
    const gateway = services[name];
    const env = environmentOf(gateway);
    expect(gateway?.healthcheck?.disable).not.toBe(true);
    const test = JSON.stringify(gateway?.healthcheck?.test ?? null);
    expect(test).toContain(`http://127.0.0.1:${listenerPorts(env).internal}/readyz`);
  });

  it('gives each gateway its own NODE_ID and public port', () => {
    const nodeIds = GATEWAYS.map((name) => environmentOf(services[name]).NODE_ID);
    for (const id of nodeIds) expect(id).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
    expect(new Set(nodeIds).size).toBe(GATEWAYS.length);

    const publicPorts = GATEWAYS.map((name) => {
      const env = environmentOf(services[name]);
      const published = portsOf(services[name]).filter(
        (p) => p.target === listenerPorts(env).public,
      );
      expect(published).toHaveLength(1);
      return published[0]!.published;
    });
    expect(new Set(publicPorts).size).toBe(GATEWAYS.length);
  });

  it.each(GATEWAYS)('%s publishes its internal listener on loopback only', (name) => {
    const env = environmentOf(services[name]);
    for (const port of portsOf(services[name])) {
      if (port.target === listenerPorts(env).internal) expect(port.hostIp).toBe('127.0.0.1');
    }
  });

  it.each(SHARED_SECRETS)('the gateways share %s', (variable) => {
    const values = GATEWAYS.map((name) => environmentOf(services[name])[variable]);
    expect(values[0]).toBeTruthy();
    expect(new Set(values).size).toBe(1);
  });

  it.each(GATEWAYS)('%s uses only variables the gateway knows', (name) => {
    const unknown = Object.keys(environmentOf(services[name])).filter(
      (variable) => !schemaKeys.includes(variable),
    );
    expect(unknown).toEqual([]);
  });

  it.each(GATEWAYS)(
    '%s has a configuration the gateway accepts, with no generated secret',
    (name) => {
      const result = parseConfig(environmentOf(services[name]), {
        hostname: 'compose',
        pid: 1,
        devSecrets: {
          ticketSecret: 'generated-ticket-secret-000000000000000000',
          auditSigningKey: 'generated-audit-signing-key-0000000000000',
          accessTokenSecret: 'generated-access-token-secret-00000000000',
          publisherSecret: 'generated-publisher-secret-00000000000000',
        },
      });
      expect(result.ok ? [] : result.problems.map((p) => p.variable)).toEqual([]);
      if (!result.ok) return;
      // Secrets generated per node would differ between the nodes.
      expect(result.config.generatedDevSecrets).toEqual([]);
      expect(result.config.redis.topology.kind).toBe('standalone');
    },
  );
});

describe('docker-compose.yml profile observability', () => {
  const OBSERVABILITY = ['prometheus', 'grafana'] as const;
  const prometheusConfig = parse(read('ops/prometheus/prometheus.yml')) as {
    rule_files?: string[];
    scrape_configs?: {
      job_name: string;
      metrics_path?: string;
      static_configs?: { targets: string[] }[];
    }[];
  };

  /** Bind mounts of a service: repository file -> container path. */
  function mountsOf(service: Service | undefined): Map<string, string> {
    return new Map(
      (service?.volumes ?? [])
        .map(String)
        .filter((v) => v.startsWith('./'))
        .map((v) => {
          const [source, target] = v.split(':');
          return [source!.slice(2), target!];
        }),
    );
  }

  it('runs Prometheus and Grafana in the profile only, the cluster without one', () => {
    for (const name of OBSERVABILITY) expect(services[name]?.profiles).toEqual(['observability']);
    for (const name of ['redis', ...GATEWAYS]) expect(services[name]?.profiles).toBeUndefined();
  });

  it.each(OBSERVABILITY)('%s publishes its ports on loopback only', (name) => {
    const ports = portsOf(services[name]);
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(port.hostIp).toBe('127.0.0.1');
  });

  it('publishes no host port twice', () => {
    const published = Object.values(services).flatMap((s) => portsOf(s).map((p) => p.published));
    expect(new Set(published).size).toBe(published.length);
  });

  it('has Prometheus scrape every gateway on its internal listener, with the rules loaded', () => {
    const mounts = mountsOf(services.prometheus);
    const configPath = mounts.get('ops/prometheus/prometheus.yml');
    expect(configPath).toBe('/etc/prometheus/prometheus.yml');
    const command = JSON.stringify(services.prometheus?.command);
    expect(command).toContain(`--config.file=${configPath}`);
    // Rule files resolve relative to the config file, in the container as in the repository.
    for (const rules of prometheusConfig.rule_files ?? []) {
      expect(mounts.get(`ops/prometheus/${rules}`)).toBe(`/etc/prometheus/${rules}`);
    }
    expect(prometheusConfig.rule_files).toContain('alerts.yml');

    const job = prometheusConfig.scrape_configs?.find((c) => c.job_name === 'carecast');
    expect(job?.metrics_path ?? '/metrics').toBe('/metrics');
    const targets = job?.static_configs?.flatMap((c) => c.targets) ?? [];
    expect(targets.sort()).toEqual(
      GATEWAYS.map((g) => `${g}:${listenerPorts(environmentOf(services[g])).internal}`).sort(),
    );
  });

  it('has Grafana provisioned with the Prometheus data source and the dashboard', () => {
    const mounts = mountsOf(services.grafana);
    expect(mounts.get('ops/grafana/provisioning')).toBe('/etc/grafana/provisioning');
    const datasources = parse(read('ops/grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: { type: string; url: string }[];
    };
    const promPort = portsOf(services.prometheus)[0]!.target;
    expect(datasources.datasources).toContainEqual(
      expect.objectContaining({ type: 'prometheus', url: `http://prometheus:${promPort}` }),
    );
    const providers = parse(read('ops/grafana/provisioning/dashboards/carecast.yml')) as {
      providers: { options: { path: string } }[];
    };
    const dashboardPath = mounts.get('ops/grafana/carecast.json');
    expect(dashboardPath).toBe(`${providers.providers[0]!.options.path}/carecast.json`);
  });
});

describe('.env.example', () => {
  const lines = read('.env.example').split('\n');
  const assignment = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/;
  const assignments = lines.flatMap((line) => {
    const m = assignment.exec(line.trim());
    return m ? [{ commented: m[1] !== undefined, name: m[2]!, value: m[3]! }] : [];
  });

  it('lists every variable of the schema', () => {
    const listed = new Set(assignments.map((a) => a.name));
    expect(schemaKeys.filter((key) => !listed.has(key))).toEqual([]);
  });

  it('lists only variables of the schema, each once', () => {
    const names = assignments.map((a) => a.name);
    expect(names.filter((name) => !schemaKeys.includes(name))).toEqual([]);
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
  });

  it('shows only default values', () => {
    const shown = Object.fromEntries(
      assignments.filter((a) => !a.commented).map((a) => [a.name, a.value]),
    );
    expect(envSchema.parse(shown)).toEqual(envSchema.parse({}));
    // Variables without a default are listed commented out and empty: no sample secrets.
    expect(assignments.filter((a) => a.commented && a.value !== '').map((a) => a.name)).toEqual([]);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('runs the compiled gateway as the unprivileged node user', () => {
    expect(dockerfile).toMatch(
      /^FROM node:24-bookworm-slim|^ARG NODE_IMAGE=node:24-bookworm-slim/m,
    );
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^EXPOSE 8443 9090$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
  });
});
