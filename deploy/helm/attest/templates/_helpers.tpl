{{/*
Names and labels.
*/}}
{{- define "attest.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name; StatefulSet pod names (NAME-0) and the headless
Service (NAME-headless) are derived from it, so keep it short.
*/}}
{{- define "attest.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "attest.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "attest.labels" -}}
helm.sh/chart: {{ include "attest.chart" . }}
{{ include "attest.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: attest
{{- end }}

{{- define "attest.selectorLabels" -}}
app.kubernetes.io/name: {{ include "attest.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Daemon (attestd) */}}
{{- define "attest.daemon.labels" -}}
{{ include "attest.labels" . }}
app.kubernetes.io/component: daemon
{{- end }}

{{- define "attest.daemon.selectorLabels" -}}
{{ include "attest.selectorLabels" . }}
app.kubernetes.io/component: daemon
{{- end }}

{{- define "attest.daemon.headless" -}}
{{- printf "%s-headless" (include "attest.fullname" .) }}
{{- end }}

{{- define "attest.daemon.image" -}}
{{- printf "%s:%s" .Values.daemon.image.repository (default .Chart.AppVersion .Values.daemon.image.tag) }}
{{- end }}

{{/* The Secret holding attestd's tls.crt, tls.key and ca.crt. */}}
{{- define "attest.daemon.tlsSecret" -}}
{{- if .Values.certManager.enabled }}
{{- printf "%s-server-tls" (include "attest.fullname" .) }}
{{- else }}
{{- required "tls.existingSecret: name a Secret with tls.crt, tls.key and ca.crt, or set certManager.enabled=true" .Values.tls.existingSecret }}
{{- end }}
{{- end }}

{{/*
DNS names attestd is reached by: the Service and each pod behind the
headless Service, short to fully qualified.
*/}}
{{- define "attest.daemon.dnsNames" -}}
{{- $fullname := include "attest.fullname" . }}
{{- $headless := include "attest.daemon.headless" . }}
{{- $ns := .Release.Namespace }}
{{- $names := list $fullname (printf "%s.%s" $fullname $ns) (printf "%s.%s.svc" $fullname $ns) (printf "%s.%s.svc.%s" $fullname $ns .Values.clusterDomain) }}
{{- range $i := until (int .Values.daemon.replicas) }}
{{- $pod := printf "%s-%d.%s" $fullname $i $headless }}
{{- $names = concat $names (list $pod (printf "%s.%s" $pod $ns) (printf "%s.%s.svc" $pod $ns) (printf "%s.%s.svc.%s" $pod $ns $.Values.clusterDomain)) }}
{{- end }}
{{- concat $names .Values.certManager.extraDnsNames | uniq | toYaml }}
{{- end }}

{{/* Agent */}}
{{- define "attest.agent.labels" -}}
{{ include "attest.labels" . }}
app.kubernetes.io/component: agent
{{- end }}

{{- define "attest.agent.selectorLabels" -}}
{{ include "attest.selectorLabels" . }}
app.kubernetes.io/component: agent
{{- end }}

{{- define "attest.agent.image" -}}
{{- printf "%s:%s" .Values.agent.image.repository (default .Chart.AppVersion .Values.agent.image.tag) }}
{{- end }}

{{/*
The daemons an agent ships to, as a JSON list: agent.daemonAddresses, or
this release's Service (one replica) or each pod by its headless-Service
name (an HA pair).
*/}}
{{- define "attest.agent.daemonAddresses" -}}
{{- if .Values.agent.daemonAddresses }}
{{- toJson .Values.agent.daemonAddresses }}
{{- else }}
{{- if not .Values.daemon.enabled }}
{{- fail "agent.daemonAddresses: name the attestd addresses (HOST:PORT) when daemon.enabled is false" }}
{{- end }}
{{- $fullname := include "attest.fullname" . }}
{{- $suffix := printf "%s.svc.%s" .Release.Namespace .Values.clusterDomain }}
{{- if eq (int .Values.daemon.replicas) 1 }}
{{- list (printf "%s.%s:7443" $fullname $suffix) | toJson }}
{{- else }}
{{- $headless := include "attest.daemon.headless" . }}
{{- $out := list }}
{{- range $i := until (int .Values.daemon.replicas) }}
{{- $out = append $out (printf "%s-%d.%s.%s:7443" $fullname $i $headless $suffix) }}
{{- end }}
{{- toJson $out }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Every node path the agent mounts read-only under /host, as a JSON list of
{path, type}: agent.hostMounts, then the directory of each shipper's file,
without duplicates.
*/}}
{{- define "attest.agent.hostMounts" -}}
{{- $seen := dict }}
{{- $out := list }}
{{- range .Values.agent.hostMounts }}
{{- $path := clean .path }}
{{- if not (hasKey $seen $path) }}
{{- $_ := set $seen $path true }}
{{- $out = append $out (dict "path" $path "type" (default "" .type)) }}
{{- end }}
{{- end }}
{{- range .Values.agent.shippers }}
{{- $path := clean (default (dir .path) .hostDir) }}
{{- if not (hasKey $seen $path) }}
{{- $_ := set $seen $path true }}
{{- $out = append $out (dict "path" $path "type" "") }}
{{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/* A volume name for a node path: h<index>-<path as a DNS label>. */}}
{{- define "attest.agent.hostVolumeName" -}}
{{- $slug := regexReplaceAll "[^a-z0-9]+" (lower .path) "-" | trimAll "-" }}
{{- printf "h%d-%s" .index $slug | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* --shipper name=N,probe=P,path=PATH[,unit=U][,action=A] */}}
{{- define "attest.agent.shipperSpec" -}}
{{- $parts := list (printf "name=%s" .name) (printf "probe=%s" .probe) (printf "path=%s" .path) }}
{{- if .unit }}{{ $parts = append $parts (printf "unit=%s" .unit) }}{{ end }}
{{- if .action }}{{ $parts = append $parts (printf "action=%s" .action) }}{{ end }}
{{- join "," $parts }}
{{- end }}
