// Validates Kubernetes manifests the way the API server would take them,
// then checks what clearlane needs of its own deployment.
//
// 1. Schema: every object is validated against the Kubernetes 1.27 API
//    schemas of the kubernetes-models package (types, required fields,
//    enums, formats).
// 2. Unknown fields: those schemas do not forbid fields they do not name
//    (a misspelt `readinesProbe` would pass), while `kubectl apply` with
//    strict field validation refuses them. Each object is validated through
//    a Proxy that records which fields the schema's validator looked at; a
//    field it never looked at, in an object whose keys it did not list (as
//    it does for labels and other maps), is unknown to the schema.
// 3. clearlane: the run configuration in the ConfigMap is checked by
//    `clearlane run --check` (the binary in $CLEARLANE_BIN), and the
//    StatefulSet is checked against it: probes on /readyz and /healthz,
//    the metrics port, the state and the secret on the volumes meant for
//    them (the secret never inside the state), instance.id per pod, a
//    grace period longer than an epoch, selectors that match.
//
// Usage: node validate.mjs FILE...  (exit 0: valid; 1: the errors, one a
// line). The test (manifests.test.mjs) also imports validateObjects.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

// The model class of an apiVersion and kind ("v1" is the core group).
async function modelOf(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  let module;
  try {
    module = await import(`kubernetes-models/${apiVersion}`);
  } catch {
    return null;
  }
  const model = module[kind];
  return typeof model === "function" ? model : null;
}

// Runs the model's schema validator on a Proxy of `object` and returns the
// paths of the fields it never read in objects whose keys it never listed.
function unreadFields(model, object) {
  const seen = new WeakMap(); // target -> { read: Set, listed: bool }
  const proxies = new WeakMap();
  const wrap = (value) => {
    if (value === null || typeof value !== "object") return value;
    if (proxies.has(value)) return proxies.get(value);
    const record = { read: new Set(), listed: false };
    seen.set(value, record);
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        if (typeof key === "string") record.read.add(key);
        return wrap(Reflect.get(target, key, receiver));
      },
      has(target, key) {
        if (typeof key === "string") record.read.add(key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        record.listed = true;
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  try {
    // The validator of the model's class, with the Proxy as its `this`.
    model.prototype.validate.call(wrap(object));
  } catch {
    // Its errors are reported by schemaErrors.
  }
  const unread = [];
  const walk = (value, at) => {
    if (value === null || typeof value !== "object") return;
    const record = seen.get(value);
    if (!record) return; // not reached: its parent is already reported
    for (const [key, child] of Object.entries(value)) {
      const where = Array.isArray(value) ? `${at}[${key}]` : `${at}.${key}`;
      if (!Array.isArray(value) && !record.listed && !record.read.has(key)) {
        unread.push(where);
        continue;
      }
      walk(child, where);
    }
  };
  walk(object, "");
  return unread;
}

function formatErrors(errors) {
  return errors.map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
}

// Schema and unknown-field errors of one object.
async function schemaErrors(object, name) {
  const model = await modelOf(object?.apiVersion, object?.kind);
  if (!model) {
    return [`${name}: no Kubernetes 1.27 API kind ${object?.apiVersion} ${object?.kind}`];
  }
  const errors = [];
  try {
    new model(object).validate();
  } catch (e) {
    errors.push(`${name}: ${e.errors ? formatErrors(e.errors) : e.message}`);
  }
  for (const field of unreadFields(model, object)) {
    errors.push(`${name}: unknown field ${field.slice(1)}`);
  }
  return errors;
}

// The settings `clearlane run --check` prints, as a map.
function checkRunConfig(text, instanceId) {
  const bin = process.env.CLEARLANE_BIN;
  if (!bin) throw new Error("CLEARLANE_BIN is not set (the clearlane binary)");
  const dir = mkdtempSync(path.join(tmpdir(), "clearlane-k8s-"));
  try {
    const file = path.join(dir, "run.conf");
    writeFileSync(file, text);
    let out;
    try {
      out = execFileSync(
        bin,
        ["run", "--config", file, "--set", `instance.id=${instanceId}`, "--check"],
        { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
      );
    } catch (e) {
      return { error: `clearlane run --check refused it: ${(e.stderr || e.message).trim()}` };
    }
    const settings = new Map();
    for (const line of out.split("\n")) {
      const m = /^([^#=\s][^=]*?)\s*=\s*(.*)$/.exec(line);
      if (m) settings.set(m[1], m[2]);
    }
    return { settings };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Whether `file` lies inside directory `dir` (both absolute).
function under(file, dir) {
  if (dir === undefined) return false;
  const rel = path.relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

function matches(selector, labels) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

// What clearlane needs of its deployment (see the header).
function clearlaneErrors(objects) {
  const errors = [];
  const of = (kind) => objects.filter((o) => o?.kind === kind);
  const sets = of("StatefulSet");
  if (sets.length !== 1) return [`expected one StatefulSet, found ${sets.length}`];
  const set = sets[0];
  const name = `StatefulSet ${set.metadata?.name}`;
  const spec = set.spec ?? {};
  const pod = spec.template?.spec ?? {};
  const podLabels = spec.template?.metadata?.labels;
  const container = (pod.containers ?? []).find((c) => c.name === "clearlane");
  if (!container) return [`${name}: no container named clearlane`];

  // Until scale-out (issue 22), one process holds every input partition.
  if ((spec.replicas ?? 1) !== 1) {
    errors.push(`${name}: replicas must be 1: a second member of the group stops (docs/kafka-mode.md)`);
  }

  // The run configuration.
  const args = container.args ?? [];
  const configAt = args.indexOf("--config");
  const configFile = configAt >= 0 ? args[configAt + 1] : undefined;
  if (args[0] !== "run" || !configFile) errors.push(`${name}: args must be run --config FILE`);
  const setAt = args.indexOf("--set");
  if (setAt < 0 || args[setAt + 1] !== "instance.id=$(POD_NAME)") {
    errors.push(`${name}: each pod needs its own instance.id: --set instance.id=$(POD_NAME)`);
  }
  const podName = (container.env ?? []).find((e) => e.name === "POD_NAME");
  if (podName?.valueFrom?.fieldRef?.fieldPath !== "metadata.name") {
    errors.push(`${name}: env POD_NAME must come from metadata.name`);
  }
  const mountOf = (volume) =>
    (container.volumeMounts ?? []).find((m) => m.name === volume);
  const volumeOf = (file) =>
    (container.volumeMounts ?? []).find((m) => under(file, m.mountPath));
  const configMount = configFile ? volumeOf(configFile) : undefined;
  const configVolume = (pod.volumes ?? []).find((v) => v.name === configMount?.name);
  const configMap = of("ConfigMap").find(
    (c) => c.metadata?.name === configVolume?.configMap?.name,
  );
  const configKey = configFile && configMount ? path.relative(configMount.mountPath, configFile) : "";
  const text = configMap?.data?.[configKey];
  if (text === undefined) {
    errors.push(`${name}: ${configFile} is not a key of a ConfigMap in these manifests`);
    return errors;
  }
  const checked = checkRunConfig(text, `${set.metadata?.name}-0`);
  if (checked.error) return [...errors, `ConfigMap ${configMap.metadata.name}: ${checked.error}`];
  const settings = checked.settings;

  // Metrics, probes, scraping.
  const metricsPort = Number((settings.get("metrics.address") ?? "").split(":").pop());
  if (!metricsPort) errors.push("run.conf: metrics.address must be set (probes and metrics)");
  const ports = new Map((container.ports ?? []).map((p) => [p.name, p.containerPort]));
  const portOf = (p) => (typeof p === "string" ? ports.get(p) : p);
  for (const [probe, want] of [
    ["readinessProbe", "/readyz"],
    ["livenessProbe", "/healthz"],
  ]) {
    const get = container[probe]?.httpGet;
    if (get?.path !== want) errors.push(`${name}: ${probe} must get ${want}`);
    if (portOf(get?.port) !== metricsPort) {
      errors.push(`${name}: ${probe} must use the metrics port ${metricsPort}`);
    }
  }
  const annotations = spec.template?.metadata?.annotations ?? {};
  if (annotations["prometheus.io/scrape"] !== "true" ||
      Number(annotations["prometheus.io/port"]) !== metricsPort) {
    errors.push(`${name}: prometheus.io/scrape "true" and prometheus.io/port "${metricsPort}"`);
  }

  // The state on its claim; the secret elsewhere, in memory, owner-only.
  const stateDir = settings.get("state.dir");
  const stateMount = volumeOf(stateDir);
  const claims = (spec.volumeClaimTemplates ?? []).map((c) => c.metadata?.name);
  if (!stateMount || !claims.includes(stateMount.name)) {
    errors.push(`${name}: state.dir ${stateDir} must be on a volumeClaimTemplates volume`);
  }
  const secretFile = settings.get("hmac.secret.file");
  const secretMount = volumeOf(secretFile);
  if (!secretMount) {
    errors.push(`${name}: hmac.secret.file ${secretFile} is on no volume`);
  } else {
    if (under(secretFile, stateDir) || secretMount.name === stateMount?.name) {
      errors.push(`${name}: hmac.secret.file must not be beside the state`);
    }
    const volume = (pod.volumes ?? []).find((v) => v.name === secretMount.name);
    if (volume?.emptyDir?.medium !== "Memory") {
      errors.push(`${name}: the secret's volume must be an emptyDir in memory`);
    }
    // The init container puts the Secret's key there, mode 0400.
    const init = (pod.initContainers ?? []).find((c) =>
      (c.volumeMounts ?? []).some((m) => m.name === secretMount.name && !m.readOnly));
    const command = init?.command ?? [];
    const mode = command[command.indexOf("-m") + 1];
    const source = command[command.length - 2];
    const sourceMount = (init?.volumeMounts ?? []).find((m) => under(source ?? "", m.mountPath));
    const sourceVolume = (pod.volumes ?? []).find((v) => v.name === sourceMount?.name);
    const secret = of("Secret").find((s) => s.metadata?.name === sourceVolume?.secret?.secretName);
    if (command[0] !== "install" || mode !== "0400" ||
        command[command.length - 1] !== secretFile) {
      errors.push(`${name}: an init container must install -m 0400 the key as ${secretFile}`);
    }
    if (!secret) errors.push(`${name}: the secret's source must be a Secret of these manifests`);
  }

  // Stopping: longer than an epoch, with room for the broker's commit.
  const epochSeconds = Number(settings.get("epoch.millis")) / 1000;
  if ((pod.terminationGracePeriodSeconds ?? 30) < epochSeconds + 60) {
    errors.push(`${name}: terminationGracePeriodSeconds must exceed an epoch by a minute`);
  }

  // Selectors that reach the pods.
  if (!matches(spec.selector?.matchLabels, podLabels)) {
    errors.push(`${name}: selector does not match the pod template's labels`);
  }
  const service = of("Service").find((s) => s.metadata?.name === spec.serviceName);
  if (!service || service.spec?.clusterIP !== "None" || !matches(service.spec?.selector, podLabels)) {
    errors.push(`${name}: serviceName must be a headless Service selecting its pods`);
  }
  const budgets = of("PodDisruptionBudget");
  if (budgets.length !== 1 || !matches(budgets[0].spec?.selector?.matchLabels, podLabels)) {
    errors.push(`${name}: one PodDisruptionBudget must select its pods`);
  }
  return errors;
}

// All the errors of these objects ({ name, object } each).
export async function validateObjects(named) {
  const errors = [];
  for (const { name, object } of named) errors.push(...(await schemaErrors(object, name)));
  errors.push(...clearlaneErrors(named.map((n) => n.object)));
  return errors;
}

// The objects of YAML files, named by file and kind.
export function readManifests(files) {
  const named = [];
  const errors = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
      if (doc.errors.length) {
        errors.push(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
        continue;
      }
      const object = doc.toJS();
      if (object === null) continue;
      named.push({ name: `${path.basename(file)} ${object?.kind} ${object?.metadata?.name}`, object });
    }
  }
  return { named, errors };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { named, errors } = readManifests(process.argv.slice(2));
  errors.push(...(await validateObjects(named)));
  for (const e of errors) console.error(e);
  if (!errors.length) console.log(`${named.length} objects valid`);
  process.exit(errors.length ? 1 : 0);
}
