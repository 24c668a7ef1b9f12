#!/usr/bin/env python3
"""Checks the deployment files that cannot be run here (no container engine): they parse, and they
keep the promises the README makes (every service present, probes on the health endpoints, secrets
from files, no password literal besides the local compose default)."""
import sys
import yaml

root = sys.argv[1] if len(sys.argv) > 1 else "."
services = ["ingestor", "aggregator", "backfiller", "monitor"]
failures = []

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

docs = list(yaml.safe_load_all(open(f"{root}/deploy/k8s/fxstream.yaml")))
deployments = {d["metadata"]["name"]: d for d in docs if d and d.get("kind") == "Deployment"}
for name in services:
    d = deployments.get(name)
    if not d:
        failures.append(f"k8s: Deployment {name} missing")
        continue
    container = d["spec"]["template"]["spec"]["containers"][0]
    if container.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/health/ready":
        failures.append(f"k8s: {name} readinessProbe is not /health/ready")
    if container.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/health/live":
        failures.append(f"k8s: {name} livenessProbe is not /health/live")
config = next(d for d in docs if d and d.get("kind") == "ConfigMap")["data"]
if "DATABASE_URL" in config or not config.get("DATABASE_URL_FILE"):
    failures.append("k8s: the database URL must come from a mounted secret file")

# The ingestor's feed files (the service's own parser is tested in FXIngestTests; here: shape + wiring).
def check_feeds(label, document):
    feeds = (document or {}).get("feeds") or []
    if not feeds:
        failures.append(f"{label}: no feeds")
    for feed in feeds:
        if feed.get("provider") not in ("coinbase", "finnhub") or not feed.get("symbols"):
            failures.append(f"{label}: feed needs a known provider and symbols: {feed}")
        if any(k in feed for k in ("api_key", "secret", "passphrase", "token")):
            failures.append(f"{label}: secrets belong in the environment or files")
for path in ("deploy/ingestor.local.yaml", "deploy/feeds/simulator.yaml", "deploy/feeds/live.yaml"):
    check_feeds(path, yaml.safe_load(open(f"{root}/{path}")))
ingestor_maps = [d for d in docs if d and d.get("kind") == "ConfigMap" and d["metadata"]["name"] == "ingestor-config"]
if not ingestor_maps:
    failures.append("k8s: ConfigMap ingestor-config missing")
else:
    check_feeds("k8s ingestor-config", yaml.safe_load(ingestor_maps[0]["data"]["ingestor.yaml"]))
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
