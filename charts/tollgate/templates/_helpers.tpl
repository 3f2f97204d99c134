{{/* Names */}}
{{- define "tollgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tollgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tollgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "tollgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tollgate
{{- end }}

{{- define "tollgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tollgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tollgate.operatorSelectorLabels" -}}
{{ include "tollgate.selectorLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "tollgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tollgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tollgate.webhookName" -}}
{{- include "tollgate.fullname" . }}
{{- end }}

{{- define "tollgate.certSecretName" -}}
{{- printf "%s-webhook-cert" (include "tollgate.fullname" .) }}
{{- end }}

{{- define "tollgate.operatorImage" -}}
{{- printf "%s:%s" .Values.operator.image.repository (default .Chart.AppVersion .Values.operator.image.tag) }}
{{- end }}

{{- define "tollgate.sidecarImage" -}}
{{- printf "%s:%s" .Values.sidecar.image.repository (default .Chart.AppVersion .Values.sidecar.image.tag) }}
{{- end }}

{{/* Connection URLs: exactly one source each; the chart fails with a clear line otherwise. */}}
{{- define "tollgate.redisDeployedURL" -}}
{{- printf "redis://%s-redis.%s.svc:6379" (include "tollgate.fullname" .) .Release.Namespace }}
{{- end }}

{{- /*
The bundled Redis's password of the tollgate-operator user: kept from the Secret an earlier
release made, generated on first install. Its only copies are that Secret and Redis's ACL file.
*/}}
{{- define "tollgate.redisDeployedPassword" -}}
{{- $name := printf "%s-connections" (include "tollgate.fullname" .) }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $name }}
{{- if and $existing (index ($existing.data | default dict) "redis-password") }}
{{- index $existing.data "redis-password" | b64dec }}
{{- else }}
{{- randAlphaNum 32 }}
{{- end }}
{{- end }}

{{- /* The ACL rules of the operator's Redis user: operatorAclRules() in api/src/redis-acl.ts. */}}
{{- define "tollgate.redisOperatorRules" -}}
on ~tollgate:v1:* &tollgate:v1:* +@all -@dangerous +info +acl|setuser +acl|deluser +acl|getuser +acl|save
{{- end }}

{{- /* The bundled Redis runs only when no external one is given. */}}
{{- define "tollgate.redisDeployed" -}}
{{- if and .Values.redis.deploy.enabled (not .Values.redis.url) (not .Values.redis.existingSecret.name) }}true{{ end }}
{{- end }}

{{- define "tollgate.redisSecret" -}}
{{- $r := .Values.redis }}
{{- if and $r.url $r.existingSecret.name }}
{{- fail "redis: set redis.url or redis.existingSecret.name, not both" }}
{{- end }}
{{- if and (eq $r.mode "cluster") (not (or $r.url $r.existingSecret.name)) }}
{{- fail "redis.mode=cluster: the bundled Redis is a single node; give the cluster's seed in redis.url or redis.existingSecret" }}
{{- end }}
{{- if not (or $r.url $r.existingSecret.name (include "tollgate.redisDeployed" .)) }}
{{- fail "redis: set redis.url or redis.existingSecret.name, or keep redis.deploy.enabled=true" }}
{{- end }}
{{- if $r.existingSecret.name }}
{{- dict "name" $r.existingSecret.name "key" $r.existingSecret.key | toJson }}
{{- else }}
{{- dict "name" (printf "%s-connections" (include "tollgate.fullname" .)) "key" "redis-url" | toJson }}
{{- end }}
{{- end }}

{{- define "tollgate.postgresDeployed" -}}
{{- if and .Values.postgres.deploy.enabled (not .Values.postgres.url) (not .Values.postgres.existingSecret.name) }}true{{ end }}
{{- end }}

{{- define "tollgate.postgresSecret" -}}
{{- $p := .Values.postgres }}
{{- if and $p.url $p.existingSecret.name }}
{{- fail "postgres: set postgres.url or postgres.existingSecret.name, not both" }}
{{- end }}
{{- if not (or $p.url $p.existingSecret.name (include "tollgate.postgresDeployed" .)) }}
{{- fail "postgres: set postgres.url or postgres.existingSecret.name, or keep postgres.deploy.enabled=true" }}
{{- end }}
{{- if $p.existingSecret.name }}
{{- dict "name" $p.existingSecret.name "key" $p.existingSecret.key | toJson }}
{{- else }}
{{- dict "name" (printf "%s-connections" (include "tollgate.fullname" .)) "key" "database-url" | toJson }}
{{- end }}
{{- end }}

{{/* The injection config the operator reads with --injection-config. */}}
{{- define "tollgate.injectionConfig" -}}
{{- $s := .Values.sidecar }}
image: {{ include "tollgate.sidecarImage" . }}
imagePullPolicy: {{ $s.image.pullPolicy }}
logLevel: {{ $s.logLevel }}
leaseFraction: {{ $s.leaseFraction }}
resources:
  {{- toYaml $s.resources | nindent 2 }}
securityContext:
  {{- toYaml $s.securityContext | nindent 2 }}
{{- with $s.env }}
env:
  {{- toYaml . | nindent 2 }}
{{- end }}
redis:
  {{- /* Host and port only: each sidecar logs in with its tenant's user from the exchange. */}}
{{- if $s.redis.url }}
  url: {{ $s.redis.url | quote }}
{{- else if include "tollgate.redisDeployed" . }}
  url: {{ include "tollgate.redisDeployedURL" . | quote }}
{{- else if .Values.redis.url }}
{{- $u := urlParse .Values.redis.url }}
  url: {{ printf "%s://%s%s" $u.scheme $u.host $u.path | quote }}
{{- else }}
{{- fail "sidecar.redis.url: with redis.existingSecret, give the sidecars' Redis address (host and port, no password)" }}
{{- end }}
{{- if eq .Values.redis.mode "cluster" }}
  mode: cluster
{{- end }}
{{- end }}
