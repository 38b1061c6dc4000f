// deploy/kubernetes is valid against the Kubernetes API schemas and what
// clearlane needs (validate.mjs); and each kind of mistake the validator
// is there for is caught, so that it cannot pass by accepting anything.
// Run by ctest (kubernetes_manifests) with CLEARLANE_BIN set.

import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { readManifests, validateObjects } from "./validate.mjs";

const deploy = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../deploy/kubernetes",
);
const files = readdirSync(deploy)
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => path.join(deploy, f));

function manifests() {
  const { named, errors } = readManifests(files);
  assert.deepEqual(errors, []);
  return named;
}

const objectOf = (named, kind) => named.find((n) => n.object.kind === kind).object;
const podOf = (named) => objectOf(named, "StatefulSet").spec.template.spec;
const containerOf = (named) => podOf(named).containers[0];

test("the manifests are valid", async () => {
  const named = manifests();
  assert.deepEqual(
    named.map((n) => n.object.kind).sort(),
    ["ConfigMap", "PodDisruptionBudget", "Secret", "Service", "StatefulSet"],
  );
  assert.deepEqual(await validateObjects(named), []);
});

// Each case breaks one thing; the errors must name it.
const cases = [
  ["a field of the wrong type", (n) => { objectOf(n, "StatefulSet").spec.replicas = "three"; },
    /spec\/replicas must be integer/],
  ["a required field missing", (n) => { delete objectOf(n, "StatefulSet").spec.selector; },
    /spec must have required property selector/],
  ["a value outside an enum", (n) => { objectOf(n, "StatefulSet").spec.podManagementPolicy = "AllAtOnce"; },
    /podManagementPolicy must be equal to one of the allowed values/],
  ["a misspelt field", (n) => {
    const c = containerOf(n);
    c.readinesProbe = c.readinessProbe;
    delete c.readinessProbe;
  }, /unknown field spec\.template\.spec\.containers\[0\]\.readinesProbe/],
  ["a misspelt nested field", (n) => { podOf(n).volumes[0].configMap.nmae = "x"; },
    /unknown field spec\.template\.spec\.volumes\[0\]\.configMap\.nmae/],
  ["a kind the API does not have", (n) => { objectOf(n, "Service").kind = "Servise"; },
    /no Kubernetes 1\.27 API kind v1 Servise/],
  ["a second replica before scale-out", (n) => { objectOf(n, "StatefulSet").spec.replicas = 3; },
    /replicas must be 1/],
  ["a run configuration clearlane refuses", (n) => {
    objectOf(n, "ConfigMap").data["run.conf"] += "epoch.milis = 100\n";
  }, /clearlane run --check refused it: .*epoch\.milis: unknown key/],
  ["readiness on the wrong path", (n) => { containerOf(n).readinessProbe.httpGet.path = "/ready"; },
    /readinessProbe must get \/readyz/],
  ["probes on another port than metrics.address", (n) => {
    const map = objectOf(n, "ConfigMap");
    map.data["run.conf"] = map.data["run.conf"].replace(":9464", ":9999");
  }, /readinessProbe must use the metrics port 9999/],
  ["the secret beside the state", (n) => {
    const map = objectOf(n, "ConfigMap");
    map.data["run.conf"] = map.data["run.conf"].replace(
      "/run/clearlane/hmac/hmac.secret", "/var/lib/clearlane/hmac.secret");
  }, /hmac\.secret\.file must not be beside the state/],
  ["the Secret mounted without the copy", (n) => {
    podOf(n).initContainers[0].command[2] = "0440";
  }, /install -m 0400/],
  ["the state off its claim", (n) => {
    objectOf(n, "StatefulSet").spec.volumeClaimTemplates[0].metadata.name = "data";
  }, /state\.dir \/var\/lib\/clearlane\/state must be on a volumeClaimTemplates volume/],
  ["every pod under one instance.id", (n) => {
    const args = containerOf(n).args;
    args.splice(args.indexOf("--set"), 2);
  }, /its own instance\.id/],
  ["a grace period shorter than a commit", (n) => { podOf(n).terminationGracePeriodSeconds = 5; },
    /terminationGracePeriodSeconds/],
  ["a Service selecting nothing", (n) => {
    objectOf(n, "Service").spec.selector = { "app.kubernetes.io/name": "other" };
  }, /headless Service selecting its pods/],
  ["no disruption budget", (n) => {
    n.splice(n.findIndex((x) => x.object.kind === "PodDisruptionBudget"), 1);
  }, /one PodDisruptionBudget/],
];

for (const [what, breakIt, want] of cases) {
  test(`caught: ${what}`, async () => {
    const named = manifests();
    breakIt(named);
    const errors = await validateObjects(named);
    assert.ok(errors.some((e) => want.test(e)), `expected ${want} in:\n${errors.join("\n")}`);
  });
}

test("maps may hold any key (labels, annotations, ConfigMap data)", async () => {
  const named = manifests();
  objectOf(named, "StatefulSet").metadata.labels["team.example.com/owner"] = "customs";
  objectOf(named, "StatefulSet").spec.template.metadata.annotations["x"] = "y";
  objectOf(named, "ConfigMap").data["notes.txt"] = "kept";
  assert.deepEqual(await validateObjects(named), []);
});
