#!/usr/bin/env python3
"""Checks the deployment files that cannot be run here (no container engine): they parse, the
Kubernetes manifests render (kustomize) and pass strict schema validation (kubernetes-validate), and
they keep the promises docs/operations.md makes (every service present, probes on the health endpoints,
hardened pods, one partition count, secrets from files)."""
import os
import subprocess
import sys
import tempfile
import yaml

root = sys.argv[1] if len(sys.argv) > 1 else "."
services = ["ingestor", "aggregator", "backfiller", "monitor"]
failures = []

# The ingestor's feed files (the service's own parser is tested in FXIngestTests; here: shape + wiring).
def check_feeds(label, document):
    feeds = (document or {}).get("feeds") or []
    if not feeds:
        failures.append(f"{label}: no feeds")
    for feed in feeds:
        if feed.get("provider") not in ("coinbase", "finnhub", "oanda", "ig", "kraken", "binance") or not feed.get("symbols"):
            failures.append(f"{label}: feed needs a known provider and symbols: {feed}")
        if any(k in feed for k in ("api_key", "secret", "passphrase", "token")):
            failures.append(f"{label}: secrets belong in the environment or files")

compose = yaml.safe_load(open(f"{root}/docker-compose.yml"))
for name in services + ["kafka", "postgres", "setup"]:
    if name not in compose.get("services", {}):
        failures.append(f"docker-compose.yml: service {name} missing")
for name in services:
    service = compose["services"].get(name, {})
    if service.get("command", [None])[0] != name:
        failures.append(f"docker-compose.yml: {name} does not run its executable")
    env = service.get("environment", {})
    for key in ("KAFKA_BROKERS", "DATABASE_URL", "HTTP_HOST"):
        if key not in env:
            failures.append(f"docker-compose.yml: {name} lacks {key}")

# Kubernetes: render the kustomize base and the production overlay, validate every manifest strictly
# against the Kubernetes schemas, and check what docs/operations.md promises of them.
custom_kinds = {"ScaledObject"}

def render(directory):
    try:
        out = subprocess.run(["kubectl", "kustomize", f"{root}/{directory}"], check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        failures.append("kubectl (with its built-in kustomize) is not installed: cannot render deploy/k8s")
        return []
    except subprocess.CalledProcessError as error:
        failures.append(f"kustomize {directory}: {error.stderr.strip()}")
        return []
    documents = [d for d in yaml.safe_load_all(out) if d]
    # Custom resources (KEDA's ScaledObject) have no schema in kubernetes-validate: checked below by hand.
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as rendered:
        rendered.write(yaml.safe_dump_all([d for d in documents if d["kind"] not in custom_kinds]))
    check = subprocess.run(["kubernetes-validate", "--strict", "--quiet", rendered.name], capture_output=True, text=True)
    if check.returncode != 0:
        failures.append(f"kubernetes-validate --strict {directory}: {(check.stdout + check.stderr).strip()[:2000]}")
    os.unlink(rendered.name)
    return documents

for directory in ("deploy/k8s/base", "deploy/k8s/overlays/production"):
    docs = render(directory)
    if not docs:
        continue
    kinds = {}
    for d in docs:
        kinds.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    if "Secret" in kinds:
        failures.append(f"{directory}: a Secret is rendered (secrets are referenced, never committed)")
    settings = kinds.get("ConfigMap", {}).get("fxstream-config", {}).get("data", {})
    if "DATABASE_URL" in settings or not settings.get("DATABASE_URL_FILE"):
        failures.append(f"{directory}: the database URL must come from a mounted secret file")
    partitions = int(settings.get("FX_PARTITIONS", "0"))
    hpa = kinds.get("HorizontalPodAutoscaler", {}).get("aggregator")
    scaled = kinds.get("ScaledObject", {}).get("aggregator")
    if hpa and scaled:
        failures.append(f"{directory}: the aggregator has both a CPU HPA and a KEDA ScaledObject")
    elif scaled:
        spec = scaled["spec"]
        kafka = [t for t in spec.get("triggers", []) if t.get("type") == "kafka"]
        prefix = settings.get("TOPIC_PREFIX", "fx.")
        if scaled.get("apiVersion") != "keda.sh/v1alpha1" or spec.get("scaleTargetRef", {}).get("name") != "aggregator" \
                or spec.get("maxReplicaCount") != partitions or not 1 <= spec.get("minReplicaCount", 0) <= partitions or len(kafka) != 1 \
                or kafka[0]["metadata"].get("topic") != prefix + "ticks" or kafka[0]["metadata"].get("consumerGroup") != prefix + "aggregator" \
                or kafka[0]["metadata"].get("bootstrapServers") != settings.get("KAFKA_BROKERS") \
                or kafka[0]["metadata"].get("allowIdleConsumers") != "false":
            failures.append(f"{directory}: the aggregator ScaledObject must scale the aggregator on fx.ticks lag of its group, capped at FX_PARTITIONS ({partitions}): {spec}")
    elif not hpa or hpa["spec"]["maxReplicas"] != partitions:
        failures.append(f"{directory}: the aggregator HPA must cap replicas at FX_PARTITIONS ({partitions})")
    workloads = dict(kinds.get("Deployment", {}))
    for name in ("ingestor-coinbase", "ingestor-finnhub", "aggregator", "backfiller", "monitor"):
        if name not in workloads:
            failures.append(f"{directory}: Deployment {name} missing")
        for kind in ("Service", "PodDisruptionBudget"):
            if name not in kinds.get(kind, {}):
                failures.append(f"{directory}: {kind} {name} missing")
    for name, workload in list(workloads.items()) + list(kinds.get("Job", {}).items()):
        pod = workload["spec"]["template"]["spec"]
        security = pod.get("securityContext", {})
        if not (security.get("runAsNonRoot") and isinstance(security.get("runAsUser"), int) and security.get("runAsUser") > 0
                and security.get("seccompProfile", {}).get("type") == "RuntimeDefault"):
            failures.append(f"{directory}: {name} pod security context incomplete: {security}")
        for container in pod["containers"]:
            c = container.get("securityContext", {})
            if c.get("allowPrivilegeEscalation") is not False or not c.get("readOnlyRootFilesystem") or c.get("capabilities", {}).get("drop") != ["ALL"]:
                failures.append(f"{directory}: {name} container security context incomplete: {c}")
            resources = container.get("resources", {})
            if not resources.get("requests") or not resources.get("limits", {}).get("memory"):
                failures.append(f"{directory}: {name} lacks requests and limits")
            if workload["kind"] == "Deployment":
                if container.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/health/ready":
                    failures.append(f"{directory}: {name} readinessProbe is not /health/ready")
                if container.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/health/live":
                    failures.append(f"{directory}: {name} livenessProbe is not /health/live")
                if workload["spec"]["template"]["metadata"].get("annotations", {}).get("prometheus.io/scrape") != "true":
                    failures.append(f"{directory}: {name} has no Prometheus scrape annotation")
    if "replicas" in workloads.get("aggregator", {}).get("spec", {}):
        failures.append(f"{directory}: the aggregator Deployment fixes replicas, which its autoscaler owns")
    for name in ("ingestor-coinbase", "ingestor-finnhub"):
        env = {e["name"]: e.get("value") for e in workloads.get(name, {}).get("spec", {}).get("template", {}).get("spec", {})
               .get("containers", [{}])[0].get("env", [])}
        if not env.get("INGEST_FLEET_GROUP") or env.get("CREATE_TOPICS") != "false":
            failures.append(f"{directory}: {name} must run as a fleet (INGEST_FLEET_GROUP) without creating topics (CREATE_TOPICS=false)")
    for name in ("ingestor-coinbase-feeds", "ingestor-finnhub-feeds"):
        feeds = kinds.get("ConfigMap", {}).get(name)
        if not feeds:
            failures.append(f"{directory}: ConfigMap {name} missing")
        else:
            check_feeds(f"{directory} {name}", yaml.safe_load(feeds["data"]["ingestor.yaml"]))

for path in ("deploy/ingestor.local.yaml", "deploy/feeds/simulator.yaml", "deploy/feeds/live.yaml"):
    check_feeds(path, yaml.safe_load(open(f"{root}/{path}")))
if compose["services"].get("ingestor", {}).get("environment", {}).get("INGESTOR_CONFIG") is None:
    failures.append("docker-compose.yml: the ingestor has no INGESTOR_CONFIG")
if "fxsim" not in compose.get("services", {}):
    failures.append("docker-compose.yml: the fxsim simulator is missing")

prometheus = yaml.safe_load(open(f"{root}/deploy/prometheus/local.yml"))
targets = prometheus["scrape_configs"][0]["static_configs"][0]["targets"]
if len(targets) != 4:
    failures.append("deploy/prometheus/local.yml: expected the four services")
prometheus = yaml.safe_load(open(f"{root}/deploy/prometheus/compose.yml"))
scraped = {t.split(":")[0] for c in prometheus["scrape_configs"][0]["static_configs"] for t in c["targets"]}
if scraped != set(services):
    failures.append(f"deploy/prometheus/compose.yml: scrapes {sorted(scraped)}, not the four services")

# Compose: health checks through the executables, the setup step, a listener for agents on the host.
for name in services:
    test = compose["services"][name].get("healthcheck", {}).get("test", [])
    if test != ["CMD", name, "healthcheck"]:
        failures.append(f"docker-compose.yml: {name} health check is not `{name} healthcheck`: {test}")
if compose["services"]["setup"].get("command") != ["fxadmin", "setup"]:
    failures.append("docker-compose.yml: setup does not run `fxadmin setup`")
if "HOST://localhost:9094" not in compose["services"]["kafka"]["environment"].get("KAFKA_ADVERTISED_LISTENERS", ""):
    failures.append("docker-compose.yml: Kafka has no listener for the host (localhost:9094)")
for name in ("prometheus", "grafana"):
    if name not in compose["services"]:
        failures.append(f"docker-compose.yml: {name} missing")

for failure in failures:
    print("deploy check failed:", failure)
print(f"deploy files: {len(failures)} problem(s)")
sys.exit(1 if failures else 0)
