#!/usr/bin/env bash
# deploy/helm/attest, checked offline with the real helm (no cluster):
#   1. `helm lint --strict` passes with values.yaml and with values-ha.yaml;
#   2. `helm template` renders the default, HA, all-optional-on and
#      HA-plus-optional configurations;
#   3. the rendered objects (turned into JSON by `kubectl label --local`,
#      which parses YAML without a cluster) are what the chart promises:
#      the daemon StatefulSet under the restricted Pod Security Standard with
#      its PVC template and probes; the agent DaemonSet reading the node only
#      through read-only hostPath mounts (the spool excepted) with
#      `--root /host`; one --daemon, or two in HA; the PrometheusRule equal
#      to deploy/prometheus/attest-rules.yml; the dashboard ConfigMap equal
#      to deploy/grafana/attest-overview.json; a server certificate naming
#      every address the agents use;
#   4. values.schema.json rejects a wrongly typed value and misspelt keys.
# Usage: helm_chart_test.sh SOURCE_DIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 SOURCE_DIR" >&2; exit 2; }
src=$(cd "$1" && pwd)
helm="$src/.tools/bin/helm"
kubectl="$src/.tools/bin/kubectl"
chart="$src/deploy/helm/attest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

[ -x "$helm" ] || fail "no helm at $helm (scripts/setup installs it)"
[ -x "$kubectl" ] || fail "no kubectl at $kubectl (scripts/setup installs it)"
command -v python3 >/dev/null || fail "python3 is needed"
[ -f "$chart/Chart.yaml" ] || fail "no chart at $chart"
# Keep helm away from the user's configuration, cache and plugins.
export HELM_CONFIG_HOME="$work/helm/config" HELM_CACHE_HOME="$work/helm/cache" \
  HELM_DATA_HOME="$work/helm/data"

# The chart renders the rules and the dashboard from links to the files the
# rest of the repository tests (promtool, the Grafana check); helm follows
# links and includes the linked file's content.
for pair in files/attest-rules.yml:deploy/prometheus/attest-rules.yml \
  files/attest-overview.json:deploy/grafana/attest-overview.json; do
  link="$chart/${pair%%:*}" target="$src/${pair#*:}"
  [ -L "$link" ] || fail "$link should be a symbolic link to $target, not a copy"
  [ "$(readlink -f "$link")" = "$(readlink -f "$target")" ] ||
    fail "$link points to $(readlink -f "$link"), want $target"
done

# helm prints a warning for every link it follows; show stderr only when a
# command fails.
run() {  # name command...
  if ! "${@:2}" >"$work/$1.out" 2>"$work/$1.err"; then
    cat "$work/$1.out" "$work/$1.err" >&2
    fail "$1: '${*:2}' failed"
  fi
}

# 1. lint
run lint-default "$helm" lint --strict "$chart"
run lint-ha "$helm" lint --strict "$chart" -f "$chart/values-ha.yaml"
echo "ok: helm lint --strict (values.yaml, values-ha.yaml)"

# 2. render
optional=(--set serviceMonitor.enabled=true,prometheusRule.enabled=true
  --set grafanaDashboard.enabled=true,certManager.enabled=true,certManager.admin.enabled=true)
render() {  # name helm-template-args...
  run "template-$1" "$helm" template attest "$chart" --namespace compliance "${@:2}"
  [ -s "$work/template-$1.out" ] || fail "helm template ($1) rendered nothing"
  # YAML -> JSON without PyYAML or a cluster: --local never contacts one.
  run "json-$1" "$kubectl" --kubeconfig=/dev/null label --local -o json \
    -f "$work/template-$1.out" helm-chart-test/parsed=true
  mv "$work/json-$1.out" "$work/$1.json"
}
render default
render ha -f "$chart/values-ha.yaml"
render optional "${optional[@]}"
render ha-optional -f "$chart/values-ha.yaml" "${optional[@]}"
# The agents alone (a release of their own), with per-node certificates,
# shippers and a custom check.
cat >"$work/agents-only.yaml" <<'EOF'
daemon: {enabled: false}
agent:
  daemonAddresses: [attest.compliance.svc.cluster.local:7443]
  tls: {existingSecret: "", hostDir: /etc/attest/agent}
  shippers:
    - {name: rsyslog, probe: rsyslog_impstats, path: /var/log/rsyslog-stats.log, action: fwd}
    - {name: upload, probe: journal_upload, path: /var/lib/systemd/journal-upload/state}
  checks:
    ntp: "#!/bin/sh\necho OK\n"
EOF
render agents-only -f "$work/agents-only.yaml"
# An https Alertmanager that wants a client certificate.
render am-tls --set daemon.config.alertmanager_url=https://alertmanager.monitoring:9093 \
  --set daemon.alertmanagerTls.secret=am-tls,daemon.alertmanagerTls.clientCertificate=true
echo "ok: helm template (default, HA, optional on, HA with optional on, agents only, https Alertmanager)"

# The source rules as JSON, through the same YAML parser: wrapped in an
# object, indented (block scalars are relative to their indentation).
{
  printf 'apiVersion: helm-chart-test/v1\nkind: Rules\nmetadata: {name: source}\nspec:\n'
  sed 's/^/  /' "$src/deploy/prometheus/attest-rules.yml"
} >"$work/rules-source.yaml"
run rules-json "$kubectl" --kubeconfig=/dev/null label --local -o json \
  -f "$work/rules-source.yaml" helm-chart-test/parsed=true
mv "$work/rules-json.out" "$work/rules-source.json"

# 3. the rendered objects
python3 - "$work" "$src" <<'PY'
import json, os, re, sys

work, src = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def load(name):
    text, docs, dec, i = open(os.path.join(work, name)).read(), [], json.JSONDecoder(), 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return docs
        obj, i = dec.raw_decode(text, i)
        docs.extend(obj["items"] if obj.get("kind") == "List" else [obj])


def of_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def one(docs, kind, render, pred=lambda d: True):
    found = [d for d in of_kind(docs, kind) if pred(d)]
    check(len(found) == 1, f"{render}: want exactly one {kind}, got {len(found)}")
    return found[0] if found else {}


def flag_values(args, flag):
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == flag]


def sc_get(pod, container, key):
    """A securityContext field, the container's winning over the pod's."""
    c = container.get("securityContext", {})
    return c[key] if key in c else pod.get("securityContext", {}).get(key)


def check_daemon(docs, render, replicas):
    sts = one(docs, "StatefulSet", render)
    if not sts:
        return {}
    spec, pod = sts["spec"], sts["spec"]["template"]["spec"]
    name = sts["metadata"]["name"]
    check(spec.get("replicas") == replicas, f"{render}: StatefulSet replicas {spec.get('replicas')}, want {replicas}")
    c = (pod.get("containers") or [{}])[0]
    check(c.get("command") == ["attestd", "--config", "/etc/attest/attestd.yaml"],
          f"{render}: attestd command is {c.get('command')}")
    # The restricted Pod Security Standard.
    psc = pod.get("securityContext", {})
    check(sc_get(pod, c, "runAsNonRoot") is True, f"{render}: attestd runAsNonRoot is not true")
    check(sc_get(pod, c, "runAsUser") == 10001, f"{render}: attestd runAsUser is not 10001")
    check(sc_get(pod, c, "runAsGroup") == 10001, f"{render}: attestd runAsGroup is not 10001")
    check(psc.get("fsGroup") == 10001, f"{render}: attestd pod fsGroup is not 10001")
    check((sc_get(pod, c, "seccompProfile") or {}).get("type") == "RuntimeDefault",
          f"{render}: attestd seccompProfile is not RuntimeDefault")
    csc = c.get("securityContext", {})
    check(csc.get("allowPrivilegeEscalation") is False, f"{render}: attestd allowPrivilegeEscalation is not false")
    check(csc.get("readOnlyRootFilesystem") is True, f"{render}: attestd readOnlyRootFilesystem is not true")
    check(csc.get("capabilities", {}).get("drop") == ["ALL"], f"{render}: attestd does not drop ALL capabilities")
    check(not csc.get("capabilities", {}).get("add"), f"{render}: attestd adds capabilities")
    check(not csc.get("privileged"), f"{render}: attestd is privileged")
    for vol in pod.get("volumes", []):
        check("hostPath" not in vol, f"{render}: attestd has a hostPath volume {vol.get('name')}")
    check(pod.get("terminationGracePeriodSeconds") == 60,
          f"{render}: attestd terminationGracePeriodSeconds is {pod.get('terminationGracePeriodSeconds')}, want 60")
    # Ports and probes.
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    check(ports.get("grpc") == 7443 and ports.get("metrics") == 9464, f"{render}: attestd ports are {ports}")
    live, ready = c.get("livenessProbe", {}), c.get("readinessProbe", {})
    check(live.get("tcpSocket", {}).get("port") in ("grpc", 7443),
          f"{render}: attestd livenessProbe is not tcpSocket on the grpc port: {live}")
    check(ready.get("httpGet", {}).get("path") == "/metrics" and
          ready.get("httpGet", {}).get("port") in ("metrics", 9464),
          f"{render}: attestd readinessProbe is not httpGet /metrics on the metrics port: {ready}")
    check(c.get("resources", {}).get("requests"), f"{render}: attestd has no resource requests")
    # The store: a PVC template mounted at /var/lib/attest.
    mounts = {m.get("mountPath"): m for m in c.get("volumeMounts", [])}
    data = mounts.get("/var/lib/attest", {})
    pvcs = {t["metadata"]["name"]: t for t in spec.get("volumeClaimTemplates", [])}
    if check(data.get("name") in pvcs, f"{render}: /var/lib/attest is not a volumeClaimTemplate ({list(pvcs)})"):
        check(pvcs[data["name"]]["spec"].get("resources", {}).get("requests", {}).get("storage"),
              f"{render}: the PVC template requests no storage")
        check(data["name"] not in [v.get("name") for v in pod.get("volumes", [])],
              f"{render}: {data['name']} is both a pod volume and a PVC template")
    # Configuration and certificates at /etc/attest (read-only).
    check(mounts.get("/etc/attest", {}).get("readOnly") is True, f"{render}: /etc/attest is not mounted read-only")
    cm = one(docs, "ConfigMap", render, lambda d: "attestd.yaml" in d.get("data", {}))
    conf = cm.get("data", {}).get("attestd.yaml", "")
    for key, want in [("listen", "0.0.0.0:7443"), ("metrics_listen", "0.0.0.0:9464"),
                      ("data_dir", "/var/lib/attest"), ("policy", "/etc/attest/policy.yaml"),
                      ("tls_cert", "/etc/attest/tls/tls.crt"), ("tls_key", "/etc/attest/tls/tls.key"),
                      ("client_ca", "/etc/attest/tls/ca.crt")]:
        check(re.search(rf'^{key}: "?{re.escape(want)}"?$', conf, re.M),
              f"{render}: attestd.yaml does not set {key}: {want}")
    check(not re.search(r"^insecure:", conf, re.M), f"{render}: attestd.yaml sets insecure")
    policy = cm.get("data", {}).get("policy.yaml", "")
    for rule in ["patch.security_sla", "logs.shipping_continuity", "access.change_approved", "agent.reporting"]:
        check(re.search(rf"rule: {re.escape(rule)}$", policy, re.M), f"{render}: the default policy has no {rule} control")
    # Services: gRPC + metrics, and the headless one the StatefulSet names.
    svcs = {s["metadata"]["name"]: s for s in of_kind(docs, "Service")}
    headless = svcs.get(spec.get("serviceName"), {})
    check(headless.get("spec", {}).get("clusterIP") == "None",
          f"{render}: serviceName {spec.get('serviceName')} is not a headless Service")
    main = svcs.get(name, {})
    check(sorted(p.get("port") for p in main.get("spec", {}).get("ports", [])) == [7443, 9464],
          f"{render}: Service {name} does not serve 7443 and 9464")
    return sts


def check_agent(docs, render, daemons):
    ds = one(docs, "DaemonSet", render)
    if not ds:
        return {}
    pod = ds["spec"]["template"]["spec"]
    c = (pod.get("containers") or [{}])[0]
    args = c.get("args", [])
    check(any(args[i:i + 2] == ["--root", "/host"] for i in range(len(args))),
          f"{render}: agent args lack --root /host: {args}")
    got = flag_values(args, "--daemon")
    check(len(got) == daemons, f"{render}: agent has {len(got)} --daemon args, want {daemons}: {got}")
    check("--host-id" not in args and "--insecure" not in args,
          f"{render}: the agent names its host or runs insecure; the certificate names the host")
    for flag in ["--tls-cert", "--tls-key", "--ca"]:
        check(flag_values(args, flag), f"{render}: agent has no {flag}")
    for key in ["hostPID", "hostNetwork", "hostIPC"]:
        check(not pod.get(key), f"{render}: agent pod has {key}")
    csc = c.get("securityContext", {})
    check(sc_get(pod, c, "runAsUser") == 10002, f"{render}: the agent does not run as uid 10002")
    check(sc_get(pod, c, "runAsGroup") == 10002, f"{render}: the agent does not run as gid 10002")
    check(sc_get(pod, c, "runAsNonRoot") is True, f"{render}: agent runAsNonRoot is not true")
    check(pod.get("securityContext", {}).get("fsGroup") == 10002,
          f"{render}: agent pod fsGroup is not 10002 (its Secret's key would be root's alone)")
    for vol in pod.get("volumes", []):
        if "secret" in vol:
            check(vol["secret"].get("defaultMode") == 0o440,
                  f"{render}: agent Secret volume mode {vol['secret'].get('defaultMode')}, want 0440")
    check(csc.get("capabilities", {}).get("drop") == ["ALL"], f"{render}: agent does not drop ALL capabilities")
    check(csc.get("capabilities", {}).get("add") == ["DAC_READ_SEARCH"],
          f"{render}: agent capabilities add {csc.get('capabilities', {}).get('add')}, want [DAC_READ_SEARCH]")
    check(csc.get("readOnlyRootFilesystem") is True, f"{render}: agent readOnlyRootFilesystem is not true")
    # Its binary's file capability is granted on exec only without
    # no_new_privs; the image holds no set-user-ID program to abuse that.
    check(csc.get("allowPrivilegeEscalation") is True,
          f"{render}: agent allowPrivilegeEscalation is not true (its file capability would be ignored)")
    # The init container hands the spool hostPath to uid 10002, with CHOWN alone.
    inits = pod.get("initContainers", [])
    check(len(inits) == 1 and inits[0].get("name") == "spool-owner",
          f"{render}: agent init containers are {[i.get('name') for i in inits]}, want [spool-owner]")
    if inits:
        i = inits[0]
        isc = i.get("securityContext", {})
        check(i.get("image") == c.get("image"), f"{render}: spool-owner image {i.get('image')} is not the agent's")
        check(i.get("command") == ["chown", "-R", "10002:10002", "/var/lib/attest-agent"],
              f"{render}: spool-owner command {i.get('command')}")
        check(isc.get("capabilities", {}).get("drop") == ["ALL"] and
              isc.get("capabilities", {}).get("add") == ["CHOWN"],
              f"{render}: spool-owner capabilities {isc.get('capabilities')}, want drop ALL add CHOWN")
        check(isc.get("allowPrivilegeEscalation") is False and isc.get("readOnlyRootFilesystem") is True,
              f"{render}: spool-owner may escalate or write its root")
        check([(m.get("name"), m.get("mountPath")) for m in i.get("volumeMounts", [])] ==
              [(m.get("name"), m.get("mountPath")) for m in c.get("volumeMounts", [])
               if m.get("mountPath") == "/var/lib/attest-agent"],
              f"{render}: spool-owner mounts {i.get('volumeMounts')}, want the agent's spool only")
    check(not csc.get("privileged"), f"{render}: agent is privileged")
    check((sc_get(pod, c, "seccompProfile") or {}).get("type") == "RuntimeDefault",
          f"{render}: agent seccompProfile is not RuntimeDefault")
    check(any(t.get("operator") == "Exists" and not t.get("key") for t in pod.get("tolerations", [])),
          f"{render}: agent does not tolerate every taint")
    # hostPath mounts: read-only, under /host, except the spool.
    host = {v["name"]: v["hostPath"] for v in pod.get("volumes", []) if "hostPath" in v}
    spool = [m for m in c.get("volumeMounts", []) if m.get("mountPath") == "/var/lib/attest-agent"]
    check(len(spool) == 1 and spool[0].get("name") in host and
          host[spool[0]["name"]].get("path") == "/var/lib/attest-agent" and
          host[spool[0]["name"]].get("type") == "DirectoryOrCreate" and not spool[0].get("readOnly"),
          f"{render}: the spool is not a writable hostPath /var/lib/attest-agent (DirectoryOrCreate)")
    check(flag_values(args, "--spool-dir") == ["/var/lib/attest-agent"], f"{render}: --spool-dir is not the spool mount")
    under_host = {}
    for m in c.get("volumeMounts", []):
        if m.get("name") not in host or m in spool:
            continue
        check(m.get("readOnly") is True, f"{render}: agent hostPath mount {m.get('mountPath')} is not readOnly")
        if m["mountPath"].startswith("/host/"):
            path = host[m["name"]]["path"]
            check(m["mountPath"] == "/host" + path,
                  f"{render}: node path {path} is mounted at {m['mountPath']}, not /host{path}")
            under_host[path] = m
    # Everything the collectors read is visible under /host.
    def covered(path):
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in under_host)
    for path in ["/etc/passwd", "/etc/group", "/etc/sudoers", "/etc/sudoers.d", "/etc/os-release",
                 "/usr/lib/os-release", "/home", "/root/.ssh", "/var/lib/dpkg/status", "/var/lib/apt/lists",
                 "/etc/apt", "/proc/sys/kernel/osrelease", "/proc/sys/kernel/random/boot_id", "/proc/1/comm",
                 "/proc/1/mountinfo", "/proc/swaps", "/sys/class/block", "/sys/dev/block",
                 "/sys/kernel/security/lsm"]:
        check(covered(path), f"{render}: the agent cannot read {path} under /host")
    return ds


def host_of(addr):
    return addr.rsplit(":", 1)[0]


# Default: one daemon, agents ship to its Service.
docs = load("default.json")
sts = check_daemon(docs, "default", 1)
ds = check_agent(docs, "default", 1)
for kind in ["ServiceMonitor", "PrometheusRule", "Certificate", "PodDisruptionBudget"]:
    check(not of_kind(docs, kind), f"default: renders a {kind}, which should be off by default")
check(not [d for d in of_kind(docs, "ConfigMap") if "attest-overview.json" in d.get("data", {})],
      "default: renders the dashboard ConfigMap, which should be off by default")
if sts and ds:
    (addr,) = flag_values(ds["spec"]["template"]["spec"]["containers"][0]["args"], "--daemon") or [""]
    check(addr.startswith(sts["metadata"]["name"] + ".") and addr.endswith(":7443"),
          f"default: the agent ships to {addr}, not to Service {sts['metadata']['name']} port 7443")

# https Alertmanager: its Secret is mounted beside attestd's own, and
# attestd.yaml points at the files; without the values nothing of it.
def alertmanager_tls(docs):
    conf = next((d["data"]["attestd.yaml"] for d in of_kind(docs, "ConfigMap")
                 if "attestd.yaml" in d.get("data", {})), "")
    keys = {k: v for k, v in re.findall(r"^(alertmanager_(?:ca|cert|key)): (\S+)$", conf, re.M)}
    sources = [src["secret"] for d in of_kind(docs, "StatefulSet")
               for v in d["spec"]["template"]["spec"]["volumes"]
               for src in v.get("projected", {}).get("sources", []) if "secret" in src]
    return keys, sources


keys, sources = alertmanager_tls(docs)
check(not keys, f"default: attestd.yaml sets {keys} without daemon.alertmanagerTls")
docs = load("am-tls.json")
check_daemon(docs, "am-tls", 1)
keys, sources = alertmanager_tls(docs)
want = {"alertmanager_ca": "/etc/attest/alertmanager/ca.crt",
        "alertmanager_cert": "/etc/attest/alertmanager/tls.crt",
        "alertmanager_key": "/etc/attest/alertmanager/tls.key"}
check(keys == want, f"am-tls: attestd.yaml sets {keys}, want {want}")
am = [s for s in sources if s.get("name") == "am-tls"]
check(len(am) == 1 and sorted((i["key"], i["path"]) for i in am[0].get("items", [])) ==
      [("ca.crt", "alertmanager/ca.crt"), ("tls.crt", "alertmanager/tls.crt"),
       ("tls.key", "alertmanager/tls.key")],
      f"am-tls: the Secret am-tls is projected as {am}")

# HA: two daemons, and every agent ships to each pod by its headless name.
docs = load("ha.json")
sts = check_daemon(docs, "ha", 2)
ds = check_agent(docs, "ha", 2)
if sts and ds:
    got = flag_values(ds["spec"]["template"]["spec"]["containers"][0]["args"], "--daemon")
    name, headless = sts["metadata"]["name"], sts["spec"]["serviceName"]
    for i in range(2):
        check(any(a.startswith(f"{name}-{i}.{headless}.") and a.endswith(":7443") for a in got),
              f"ha: no --daemon for pod {name}-{i}.{headless}: {got}")
    anti = sts["spec"]["template"]["spec"].get("affinity", {}).get("podAntiAffinity", {})
    check(anti.get("requiredDuringSchedulingIgnoredDuringExecution"), "ha: no required podAntiAffinity")
    pdb = one(docs, "PodDisruptionBudget", "ha")
    check(pdb.get("spec", {}).get("selector", {}).get("matchLabels") == sts["spec"]["selector"]["matchLabels"],
          "ha: the PodDisruptionBudget does not select the daemon pods")

# Agents only: no daemon objects; the shippers' directories and each
# node's certificate directory are read-only mounts too (check_agent).
docs = load("agents-only.json")
ds = check_agent(docs, "agents-only", 1)
check(not of_kind(docs, "StatefulSet") and not of_kind(docs, "Service"), "agents-only: renders daemon objects")
if ds:
    pod = ds["spec"]["template"]["spec"]
    args = pod["containers"][0]["args"]
    check(flag_values(args, "--daemon") == ["attest.compliance.svc.cluster.local:7443"],
          f"agents-only: --daemon is {flag_values(args, '--daemon')}, want agent.daemonAddresses")
    check(flag_values(args, "--shipper") == [
        "name=rsyslog,probe=rsyslog_impstats,path=/var/log/rsyslog-stats.log,action=fwd",
        "name=upload,probe=journal_upload,path=/var/lib/systemd/journal-upload/state"],
        f"agents-only: --shipper args are {flag_values(args, '--shipper')}")
    mounts = {m["mountPath"]: m for m in pod["containers"][0]["volumeMounts"]}
    for path in ["/host/var/log", "/host/var/lib/systemd/journal-upload"]:
        check(mounts.get(path, {}).get("readOnly") is True, f"agents-only: shipper directory {path} is not a read-only mount")
    tls = [v for v in pod["volumes"] if v["name"] == mounts.get("/etc/attest-agent/tls", {}).get("name")]
    check(tls and tls[0].get("hostPath", {}).get("path") == "/etc/attest/agent",
          "agents-only: agent.tls.hostDir is not what /etc/attest-agent/tls mounts")
    check(flag_values(args, "--tls-cert") == ["/etc/attest-agent/tls/host.crt"],
          f"agents-only: --tls-cert is {flag_values(args, '--tls-cert')}")
    checks = mounts.get("/etc/attest/checks.d", {})
    cm = [v["configMap"] for v in pod["volumes"] if v["name"] == checks.get("name") and "configMap" in v]
    check(checks.get("readOnly") is True and cm and cm[0].get("defaultMode") == 0o555,
          "agents-only: the checks ConfigMap is not mounted read-only and executable at /etc/attest/checks.d")

# Optional objects, rendered from the repository's own files.
source_alerts = re.findall(r"^\s*- alert:\s*(\S+)\s*$", open(os.path.join(src, "deploy/prometheus/attest-rules.yml")).read(), re.M)
check(source_alerts, "deploy/prometheus/attest-rules.yml has no '- alert:' lines")
source_groups = load("rules-source.json")[0]["spec"]["groups"]
dashboard_text = open(os.path.join(src, "deploy/grafana/attest-overview.json")).read()
dashboard = json.loads(dashboard_text)
for render in ["optional", "ha-optional"]:
    docs = load(render + ".json")
    sts = check_daemon(docs, render, 2 if render.startswith("ha") else 1)
    ds = check_agent(docs, render, 2 if render.startswith("ha") else 1)
    rule = one(docs, "PrometheusRule", render)
    groups = rule.get("spec", {}).get("groups", [])
    alerts = [r["alert"] for g in groups for r in g.get("rules", []) if "alert" in r]
    check(sorted(alerts) == sorted(source_alerts),
          f"{render}: PrometheusRule alerts {sorted(alerts)} != attest-rules.yml alerts {sorted(source_alerts)}")
    check(groups == source_groups, f"{render}: PrometheusRule spec.groups differ from deploy/prometheus/attest-rules.yml")
    cm = one(docs, "ConfigMap", render, lambda d: "attest-overview.json" in d.get("data", {}))
    text = cm.get("data", {}).get("attest-overview.json", "")
    check(cm.get("metadata", {}).get("labels", {}).get("grafana_dashboard") == "1",
          f"{render}: the dashboard ConfigMap lacks label grafana_dashboard: \"1\"")
    try:
        rendered = json.loads(text)
    except ValueError as e:
        rendered = {}
        check(False, f"{render}: the dashboard ConfigMap holds no valid JSON: {e}")
    check(rendered.get("uid") == dashboard.get("uid") and rendered.get("title") == dashboard.get("title"),
          f"{render}: dashboard uid/title {rendered.get('uid')!r}/{rendered.get('title')!r}, "
          f"want {dashboard.get('uid')!r}/{dashboard.get('title')!r}")
    check(text == dashboard_text, f"{render}: the dashboard differs from deploy/grafana/attest-overview.json")
    sm = one(docs, "ServiceMonitor", render)
    eps = sm.get("spec", {}).get("endpoints", [{}])
    check(eps and eps[0].get("port") == "metrics", f"{render}: ServiceMonitor does not scrape port metrics")
    check(any(r.get("targetLabel") == "job" and r.get("replacement") == "attestd" for r in eps[0].get("relabelings", [])),
          f"{render}: ServiceMonitor does not set job=attestd (AttestDown expects it)")
    sel = sm.get("spec", {}).get("selector", {}).get("matchLabels", {})
    picked = [s["metadata"]["name"] for s in of_kind(docs, "Service")
              if sel and all(s["metadata"].get("labels", {}).get(k) == v for k, v in sel.items())]
    check(sts and picked == [sts["metadata"]["name"]],
          f"{render}: ServiceMonitor selects Services {picked}, want only the metrics Service")
    server = one(docs, "Certificate", render, lambda d: "server auth" in d.get("spec", {}).get("usages", []))
    if sts and ds and server:
        secret = [s["secret"]["name"] for v in sts["spec"]["template"]["spec"]["volumes"]
                  for s in v.get("projected", {}).get("sources", []) if "secret" in s]
        check(secret == [server["spec"]["secretName"]],
              f"{render}: attestd mounts Secret {secret}, the Certificate writes {server['spec']['secretName']}")
        names = server["spec"].get("dnsNames", [])
        for addr in flag_values(ds["spec"]["template"]["spec"]["containers"][0]["args"], "--daemon"):
            check(host_of(addr) in names, f"{render}: agents dial {addr}, which the server certificate does not name")
    admin = one(docs, "Certificate", render, lambda d: "client auth" in d.get("spec", {}).get("usages", []))
    check(any(u.startswith("spiffe://attest/admin/") for u in admin.get("spec", {}).get("uris", [])),
          f"{render}: the admin certificate has no spiffe://attest/admin/ URI")

if failures:
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    sys.exit(1)
print(f"ok: rendered objects ({len(source_alerts)} alerts, dashboard {dashboard['uid']!r})")
PY

# 4. values.schema.json catches mistakes before anything is rendered.
expect_schema_failure() {  # what helm-args...
  if "$helm" lint --strict "$chart" "${@:2}" >"$work/neg.out" 2>&1; then
    fail "helm lint --strict ${*:2} passed; values.schema.json should reject $1"
  fi
  grep -q "schema" "$work/neg.out" ||
    fail "helm lint --strict ${*:2} failed, but not because of values.schema.json: $(grep -v walk.go "$work/neg.out")"
}
expect_schema_failure "a non-integer replica count" --set daemon.replicas=notanumber
expect_schema_failure "three replicas (an agent ships to at most two)" --set daemon.replicas=3
expect_schema_failure "a misspelt top-level key" --set daemn.replicas=2
expect_schema_failure "a misspelt daemon key" --set daemon.replica=2
expect_schema_failure "a misspelt agent key" --set agent.tolerration=x
expect_schema_failure "a misspelt alertmanagerTls key" --set daemon.alertmanagerTls.secrt=x
echo "ok: values.schema.json rejects bad values and misspelt keys"
echo "ok"
