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
    service = service if service else compose["services"].get(name + "-live", {})
    if service.get("command", [None])[0] != name:
        failures.append(f"docker-compose.yml: {name} does not run its executable")
    env = service.get("environment", {})
    for key in ("KAFKA_BROKERS", "DATABASE_URL", "HTTP_HOST"):
        if key not in env:
            failures.append(f"docker-compose.yml: {name} lacks {key}")

# Kubernetes: render the kustomize base and the production overlay, validate every manifest strictly
# against the Kubernetes schemas, and check what docs/operations.md promises of them.
custom_kinds = {"ScaledObject", "PrometheusRule", "ServiceMonitor"}

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

def allowed(policies, labels, direction, predicate):
    """Whether any policy selecting a pod with `labels` allows a peer/port in `direction` matching predicate(peer, ports)."""
    def selects(selector):
        ok = all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
        for e in selector.get("matchExpressions", []):
            if e["operator"] == "In":
                ok = ok and labels.get(e["key"]) in e["values"]
        return ok
    for policy in policies.values():
        spec = policy["spec"]
        if not selects(spec.get("podSelector", {})):
            continue
        for rule in spec.get(direction, []):
            peers = rule.get("to" if direction == "egress" else "from", [])
            if any(predicate(peer, rule.get("ports", [])) for peer in peers):
                return True
    return False

def namespace_peer(name, port):
    def predicate(peer, ports):
        return peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") == name \
            and any(p.get("port", 0) <= port <= p.get("endPort", p.get("port", 0)) for p in ports)
    return predicate

def internet(peer, ports):
    return peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" and any(p.get("port") == 443 for p in ports)

def check_network_policies(directory, policies, workloads, jobs):
    deny = [p for p in policies.values() if p["spec"].get("podSelector") == {} and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    if not deny:
        failures.append(f"{directory}: no default-deny NetworkPolicy (ingress and egress)")
    # The flows each workload needs, and the ones it must not have.
    expected = {"ingestor-coinbase": {"kafka", "internet"}, "ingestor-finnhub": {"kafka", "internet"},
                "aggregator": {"kafka", "postgres"}, "backfiller": {"kafka", "postgres", "internet"},
                "monitor": {"kafka", "postgres", "internet"}, "fxstream-setup": {"kafka", "postgres"}}
    pods = {n: w["spec"]["template"]["metadata"].get("labels", {}) for n, w in list(workloads.items()) + list(jobs.items())}
    for name, labels in pods.items():
        base = "fxstream-setup" if name.startswith("fxstream-setup") else name
        flows = {flow for flow, predicate in (("kafka", namespace_peer("kafka", 9092)), ("postgres", namespace_peer("postgres", 5432)),
                                               ("internet", internet)) if allowed(policies, labels, "egress", predicate)}
        if flows != expected.get(base, flows):
            failures.append(f"{directory}: {name} may reach {sorted(flows)}, expected exactly {sorted(expected[base])}")
        if not allowed(policies, labels, "egress", namespace_peer("kube-system", 53)):
            failures.append(f"{directory}: {name} cannot resolve names (no DNS egress)")
        if not allowed(policies, labels, "ingress", namespace_peer("monitoring", 9100)):
            failures.append(f"{directory}: Prometheus cannot scrape {name}")
    if "monitor" in pods and not allowed(policies, pods["monitor"], "ingress", namespace_peer("ingress-nginx", 9100)):
        failures.append(f"{directory}: the ingress controller cannot reach the monitor")
    for name in ("aggregator", "backfiller", "ingestor-coinbase"):
        if name in pods and allowed(policies, pods[name], "ingress", namespace_peer("ingress-nginx", 9100)):
            failures.append(f"{directory}: the ingress controller may reach {name}")

for directory in ("deploy/k8s/base", "deploy/k8s/overlays/production"):
    docs = render(directory)
    if not docs:
        continue
    kinds = {}
    generated = {}   # a generated ConfigMap's base name -> its hashed name
    for d in docs:
        kinds.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    for name in kinds.get("ConfigMap", {}):
        base = name.rsplit("-", 1)[0]
        if base in ("fxstream-config", "ingestor-coinbase-feeds", "ingestor-finnhub-feeds"):
            generated[base] = name
    for base in ("fxstream-config", "ingestor-coinbase-feeds", "ingestor-finnhub-feeds"):
        if base not in generated:
            failures.append(f"{directory}: ConfigMap {base} is not generated with a content hash (configMapGenerator), so edits would restart nothing")
    kinds.setdefault("ConfigMap", {}).update({base: kinds["ConfigMap"][name] for base, name in generated.items()})
    if "Secret" in kinds:
        failures.append(f"{directory}: a Secret is rendered (secrets are referenced, never committed)")
    settings = kinds.get("ConfigMap", {}).get("fxstream-config", {}).get("data", {})
    if "DATABASE_URL" in settings or "DATABASE_URL_FILE" in settings:
        failures.append(f"{directory}: the database URL must come from each workload's own secret file, not the shared settings")
    if settings.get("MIGRATE_ON_START") != "false":
        failures.append(f"{directory}: services must run no DDL in Kubernetes (MIGRATE_ON_START=false); the setup Job migrates")
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
    # Least privilege: each pod mounts only its own Secret, <workload>-secrets; only the database users get a URL.
    database_users = {"aggregator", "backfiller", "monitor", "fxstream-setup"}
    for name, workload in list(workloads.items()) + list(kinds.get("Job", {}).items()):
        base = "fxstream-setup" if name.startswith("fxstream-setup") else name
        pod = workload["spec"]["template"]["spec"]
        secrets = [v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v]
        if secrets != [f"{base}-secrets"]:
            failures.append(f"{directory}: {name} must mount only its own Secret {base}-secrets, mounts {secrets}")
        env = {e["name"]: e.get("value") for e in pod["containers"][0].get("env", [])}
        if (base in database_users) != ("DATABASE_URL_FILE" in env):
            failures.append(f"{directory}: {name} {'needs' if base in database_users else 'must not get'} a DATABASE_URL_FILE")
        if workload["kind"] == "Deployment":
            spread = {c.get("topologyKey") for c in pod.get("topologySpreadConstraints", [])
                      if c.get("labelSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == base}
            if spread != {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}:
                failures.append(f"{directory}: {name} lacks topology spread over zones and nodes: {spread}")
        if workload["spec"]["template"]["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") != "fxstream":
            failures.append(f"{directory}: {name}'s pods lack the label app.kubernetes.io/part-of (the NetworkPolicies select by it)")
    if workloads.get("monitor", {}).get("spec", {}).get("strategy", {}).get("type") != "Recreate":
        failures.append(f"{directory}: the monitor must use the Recreate strategy (two monitors would send every webhook twice)")
    check_network_policies(directory, kinds.get("NetworkPolicy", {}), workloads, kinds.get("Job", {}))
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

# The production overlay: the Ingress (TLS; only the page and the API), the setup Job named per release,
# the Prometheus Operator resources generated from the rule file, the dashboards as sidecar ConfigMaps.
production = {}
for d in render("deploy/k8s/overlays/production"):
    production.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
ingress = production.get("Ingress", {}).get("monitor")
if not ingress:
    failures.append("production: the monitor's Ingress is missing")
else:
    spec = ingress["spec"]
    hosts = {h for t in spec.get("tls", []) for h in t.get("hosts", [])}
    paths = {(p["path"], p["pathType"]) for r in spec.get("rules", []) for p in r.get("http", {}).get("paths", [])}
    if not hosts or not all(r.get("host") in hosts for r in spec.get("rules", [])):
        failures.append("production: the Ingress must serve every host over TLS")
    if paths != {("/", "Exact"), ("/api/", "Prefix")}:
        failures.append(f"production: the Ingress must expose only / and /api/ (not /metrics, /health): {sorted(paths)}")
    if "nginx.ingress.kubernetes.io/auth-url" not in open(f"{root}/deploy/k8s/overlays/production/monitor-ingress.yaml").read():
        failures.append("production: the Ingress lacks the auth annotation example")
tag = next((c["image"].rsplit(":", 1)[1] for d in production.get("Deployment", {}).values() for c in d["spec"]["template"]["spec"]["containers"]), "")
jobs = list(production.get("Job", {}))
if jobs != [f"fxstream-setup-{tag.replace('.', '-')}"]:
    failures.append(f"production: the setup Job must be named per release (fxstream-setup-{tag.replace('.', '-')}), is {jobs}")
rules = production.get("PrometheusRule", {}).get("fxstream")
if not rules or rules["spec"]["groups"] != yaml.safe_load(open(f"{root}/deploy/prometheus-alerts.yml"))["groups"]:
    failures.append("production: the PrometheusRule differs from deploy/prometheus-alerts.yml")
if "fxstream" not in production.get("ServiceMonitor", {}):
    failures.append("production: no ServiceMonitor")
dashboards = [c for c in production.get("ConfigMap", {}).values() if c["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
if len(dashboards) != 2:
    failures.append(f"production: expected the two dashboards as grafana_dashboard ConfigMaps, found {len(dashboards)}")
if subprocess.run([sys.executable, f"{root}/scripts/gen-k8s-monitoring.py", "--check", root]).returncode != 0:
    failures.append("generated monitoring resources are stale: run python3 scripts/gen-k8s-monitoring.py")

# The Strimzi examples: who may write each topic is exactly docs/topics.md's "written by" (checked here by
# hand against the CRDs' schemas: no CRD validator can fetch them on this machine).
writers_expected = {"fx.ticks": {"ingestor"}, "fx.gaps": {"ingestor", "aggregator"}, "fx.health": {"ingestor", "aggregator", "backfiller"},
                    "fx.rejects": {"ingestor", "aggregator", "backfiller"}, "fx.candles": {"aggregator", "backfiller"}, "fx.alerts": {"monitor"},
                    "fx.latest": {"ingestor"}, "fx.books": {"ingestor"}, "fx.raw": {"ingestor"}}
users = [d for d in yaml.safe_load_all(open(f"{root}/deploy/k8s/examples/strimzi-users.yaml")) if d]
writers = {}
for user in users:
    for rule in user["spec"]["authorization"]["acls"]:
        resource = rule["resource"]
        if resource["type"] == "topic" and resource.get("patternType") == "literal" and "Write" in rule["operations"]:
            writers.setdefault(resource["name"], set()).add(user["metadata"]["name"].removeprefix("fxstream-"))
if writers != writers_expected:
    failures.append(f"deploy/k8s/examples/strimzi-users.yaml: topic writers {writers} differ from docs/topics.md {writers_expected}")
topics_example = {d["spec"]["topicName"] for d in yaml.safe_load_all(open(f"{root}/deploy/k8s/examples/strimzi-topics.yaml")) if d}
if topics_example != set(writers_expected):
    failures.append(f"deploy/k8s/examples/strimzi-topics.yaml: topics {sorted(topics_example)}")

for path in ("deploy/ingestor.local.yaml", "deploy/feeds/simulator.yaml", "deploy/feeds/live.yaml"):
    check_feeds(path, yaml.safe_load(open(f"{root}/{path}")))
if compose["services"].get("ingestor", {}).get("environment", {}).get("INGESTOR_CONFIG") is None:
    failures.append("docker-compose.yml: the ingestor has no INGESTOR_CONFIG")
if "fxsim" not in compose.get("services", {}):
    failures.append("docker-compose.yml: the fxsim simulator is missing")

# Both Prometheus configurations label each target with its service (the rules read up{service="monitor"})
# and honor the monitor's own service/instance labels.
for path in ("deploy/prometheus/local.yml", "deploy/prometheus/compose.yml"):
    job = yaml.safe_load(open(f"{root}/{path}"))["scrape_configs"][0]
    labelled = {c.get("labels", {}).get("service") for c in job["static_configs"]}
    if labelled != set(services) or not job.get("honor_labels"):
        failures.append(f"{path}: every service's target needs its `service` label, with honor_labels: {labelled}")
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
for name in ("prometheus", "grafana", "alertmanager", "alert-receiver"):
    if name not in compose["services"]:
        failures.append(f"docker-compose.yml: {name} missing")

# Compose, what a laptop user relies on: data that survives a recreate, ports on 127.0.0.1 unless FX_BIND
# says otherwise, pinned images, monitoring that does not wait for the services, two feed profiles.
import re
for name, service in compose["services"].items():
    for port in service.get("ports", []):
        if not str(port).startswith("${FX_BIND:-127.0.0.1}:"):
            failures.append(f"docker-compose.yml: {name} publishes {port} on every interface (bind ${{FX_BIND:-127.0.0.1}})")
    image = service.get("image", "")
    if not image.startswith("${FX_IMAGE") and not re.search(r":v?\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?(@sha256:[0-9a-f]{64})?$", image):
        failures.append(f"docker-compose.yml: {name}'s image {image} is not pinned to an exact version")
kafka = compose["services"]["kafka"]
mounts = [v.split(":")[1] for v in kafka.get("volumes", []) if v.startswith("kafka-data:")]
if kafka["environment"].get("KAFKA_LOG_DIRS") not in mounts or not kafka["environment"].get("CLUSTER_ID"):
    failures.append(f"docker-compose.yml: Kafka must keep its log directory (KAFKA_LOG_DIRS) on the kafka-data volume {mounts}, with a fixed CLUSTER_ID")
for name in ("prometheus", "alertmanager", "grafana"):
    for dependency, condition in (compose["services"].get(name, {}).get("depends_on") or {}).items():
        if dependency in services or condition.get("condition") == "service_healthy":
            failures.append(f"docker-compose.yml: {name} waits for {dependency}: monitoring must start on its own")
profiles = {name: service.get("profiles", []) for name, service in compose["services"].items()}
if profiles.get("fxsim") != ["simulator"] or profiles.get("ingestor") != ["simulator"] or profiles.get("backfiller") != ["simulator"] \
        or profiles.get("ingestor-live") != ["live"] or profiles.get("backfiller-live") != ["live"]:
    failures.append(f"docker-compose.yml: profiles simulator (fxsim, ingestor, backfiller) and live (ingestor-live, backfiller-live) expected: {profiles}")
for name in ("ingestor-live", "backfiller-live"):
    service = compose["services"].get(name, {})
    if "fxsim" in (service.get("depends_on") or {}) or "fxsim" in str(service.get("environment", {})):
        failures.append(f"docker-compose.yml: {name} must not need the simulator")
    if service.get("networks", {}).get("default", {}).get("aliases") != [name.removesuffix("-live")]:
        failures.append(f"docker-compose.yml: {name} must answer to {name.removesuffix('-live')} (Prometheus scrapes that name)")
overlay = yaml.safe_load(open(f"{root}/deploy/compose.secrets.yaml"))
for name, service in overlay.get("services", {}).items():
    if compose["services"].get(name, {}).get("profiles") == ["simulator"]:
        failures.append(f"deploy/compose.secrets.yaml: overriding {name}'s credentials breaks the simulator's feeds")
prometheus_compose = yaml.safe_load(open(f"{root}/deploy/prometheus/compose.yml"))
targets = [t for a in prometheus_compose.get("alerting", {}).get("alertmanagers", []) for c in a.get("static_configs", []) for t in c.get("targets", [])]
if targets != ["alertmanager:9093"]:
    failures.append("deploy/prometheus/compose.yml: fired alerts must go to the stack's Alertmanager")

for failure in failures:
    print("deploy check failed:", failure)
print(f"deploy files: {len(failures)} problem(s)")
sys.exit(1 if failures else 0)
