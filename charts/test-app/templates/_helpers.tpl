{{/*
The chart name, overridable with nameOverride.
*/}}
{{- define "test-app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of every object: <release>-<chart>, or <release> when it already contains the chart
name. Cut to 63 characters because some Kubernetes name fields are limited to that (DNS-1123).
*/}}
{{- define "test-app.fullname" -}}
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

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "test-app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The namespace of every object.
*/}}
{{- define "test-app.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels on every object.
*/}}
{{- define "test-app.labels" -}}
helm.sh/chart: {{ include "test-app.chart" . }}
{{ include "test-app.selectorLabels" . }}
app.kubernetes.io/version: {{ include "test-app.version" . | quote }}
app.kubernetes.io/part-of: test-app
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels: only name and instance, because a Deployment's selector cannot change later.
*/}}
{{- define "test-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "test-app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The version label: the image tag, or the appVersion when the tag is empty.
*/}}
{{- define "test-app.version" -}}
{{- default .Chart.AppVersion .Values.image.tag | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The ServiceAccount name.
*/}}
{{- define "test-app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "test-app.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference: <registry>/<repository>[:<tag>][@<digest>]. The registry defaults to the ECR
registry of image.ecr.accountId and image.ecr.region.
*/}}
{{- define "test-app.image" -}}
{{- $registry := .Values.image.registry }}
{{- if not $registry }}
{{- $registry = printf "%s.dkr.ecr.%s.amazonaws.com" .Values.image.ecr.accountId .Values.image.ecr.region }}
{{- end }}
{{- $ref := printf "%s/%s:%s" $registry .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- if .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/*
The Secret holding the database user and password: the one the ExternalSecret produces, or the
existing one.
*/}}
{{- define "test-app.databaseSecretName" -}}
{{- if .Values.externalSecret.enabled }}
{{- printf "%s-db" (include "test-app.fullname" .) }}
{{- else }}
{{- .Values.database.existingSecret }}
{{- end }}
{{- end }}

{{/*
The smallest number of pods the release runs: the HPA's minimum, or replicaCount.
*/}}
{{- define "test-app.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}
{{- .Values.autoscaling.minReplicas }}
{{- else }}
{{- .Values.replicaCount }}
{{- end }}
{{- end }}

{{/*
Pod Security Admission labels (enforce, audit and warn at one level).
*/}}
{{- define "test-app.podSecurityLabels" -}}
{{- $level := .Values.namespace.podSecurityStandard }}
pod-security.kubernetes.io/enforce: {{ $level }}
pod-security.kubernetes.io/enforce-version: latest
pod-security.kubernetes.io/audit: {{ $level }}
pod-security.kubernetes.io/audit-version: latest
pod-security.kubernetes.io/warn: {{ $level }}
pod-security.kubernetes.io/warn-version: latest
{{- end }}

{{/*
Rules the JSON schema cannot express (they compare two fields). Each fails the render with a
message naming the values and what is expected. Included by every template that depends on them.
*/}}
{{- define "test-app.validate" -}}
{{- $v := .Values }}
{{- if and $v.autoscaling.enabled (lt (int $v.autoscaling.maxReplicas) (int $v.autoscaling.minReplicas)) }}
{{- fail (printf "autoscaling.maxReplicas (%d) must be greater than or equal to autoscaling.minReplicas (%d)" (int $v.autoscaling.maxReplicas) (int $v.autoscaling.minReplicas)) }}
{{- end }}
{{- $min := int (include "test-app.minReplicas" .) }}
{{- if and $v.podDisruptionBudget.enabled (ge (int $v.podDisruptionBudget.minAvailable) $min) }}
{{- fail (printf "podDisruptionBudget.minAvailable (%d) must be lower than the minimum replica count (%d, from %s): otherwise no node can ever be drained" (int $v.podDisruptionBudget.minAvailable) $min (ternary "autoscaling.minReplicas" "replicaCount" $v.autoscaling.enabled)) }}
{{- end }}
{{- $stop := add (int $v.lifecycle.preStopSleepSeconds) (int $v.app.drainSeconds) }}
{{- if le (int $v.terminationGracePeriodSeconds) $stop }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be greater than lifecycle.preStopSleepSeconds + app.drainSeconds (%d + %d = %d): otherwise pods are killed while still serving" (int $v.terminationGracePeriodSeconds) (int $v.lifecycle.preStopSleepSeconds) (int $v.app.drainSeconds) $stop) }}
{{- end }}
{{- if and (not $v.externalSecret.enabled) (not $v.database.existingSecret) }}
{{- fail "database.existingSecret must name a Secret when externalSecret.enabled is false: the chart never takes a password as a value" }}
{{- end }}
{{- if and $v.externalSecret.enabled (not $v.externalSecret.remoteSecretName) }}
{{- fail "externalSecret.remoteSecretName must name the Secrets Manager secret of the app's role (the database stack's app_secret_arn) when externalSecret.enabled is true" }}
{{- end }}
{{- if and $v.dbRole.enabled (not $v.externalSecret.enabled) }}
{{- fail "dbRole.enabled needs externalSecret.enabled (the hook reads the master secret through External Secrets); without External Secrets set dbRole.enabled=false and run test-app-db-role yourself (docs/service.md)" }}
{{- end }}
{{- if and $v.dbRole.enabled (not $v.dbRole.adminRemoteSecretName) }}
{{- fail "dbRole.adminRemoteSecretName must name the master secret (the database stack's cluster_master_user_secret_arn) when dbRole.enabled is true" }}
{{- end }}
{{- if not $v.database.host }}
{{- fail "database.host must be set to the writer endpoint of the database" }}
{{- end }}
{{- if and $v.ingress.enabled $v.networkPolicy.enabled (not (or $v.networkPolicy.ingress.loadBalancerCidrs $v.networkPolicy.ingress.controllerNamespaces)) }}
{{- fail "networkPolicy.ingress.loadBalancerCidrs (the VPC CIDRs the ALB sends from) or networkPolicy.ingress.controllerNamespaces must be set when ingress.enabled is true: otherwise the NetworkPolicy drops all load balancer traffic" }}
{{- end }}
{{- if and $v.networkPolicy.enabled (not (or $v.networkPolicy.egress.databaseCidrs $v.networkPolicy.egress.databaseSelector)) }}
{{- fail "networkPolicy.egress.databaseCidrs or networkPolicy.egress.databaseSelector must be set when networkPolicy.enabled is true: otherwise the NetworkPolicy blocks the database" }}
{{- end }}
{{- $proxy := $v.admissionProxy }}
{{- if $proxy.enabled }}
{{- if not (or $proxy.image.tag $proxy.image.digest) }}
{{- fail "admissionProxy.image.tag or admissionProxy.image.digest must be set: the proxy's image has no appVersion to fall back on" }}
{{- end }}
{{- if eq (int $proxy.port) (int $proxy.metricsPort) }}
{{- fail (printf "admissionProxy.port and admissionProxy.metricsPort must differ (both %d): the metrics and the probe have a port of their own" (int $proxy.port)) }}
{{- end }}
{{- if and $v.ingress.enabled (eq $v.ingress.className "alb") (le (int $proxy.keepAliveSeconds) (int $v.ingress.alb.idleTimeoutSeconds)) }}
{{- fail (printf "admissionProxy.keepAliveSeconds (%d) must be greater than ingress.alb.idleTimeoutSeconds (%d): the ALB, not the proxy, must close an idle connection, or a request races the close (a 502)" (int $proxy.keepAliveSeconds) (int $v.ingress.alb.idleTimeoutSeconds)) }}
{{- end }}
{{- $held := add (int $proxy.connections) (int $proxy.queue) }}
{{- if lt (int $proxy.maxConnections) $held }}
{{- fail (printf "admissionProxy.maxConnections (%d) must be at least admissionProxy.connections + admissionProxy.queue (%d + %d = %d): otherwise the proxy stops accepting before it sheds" (int $proxy.maxConnections) (int $proxy.connections) (int $proxy.queue) $held) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Labels of the `helm test` pod (distinct from the app's selector labels).
*/}}
{{- define "test-app.testSelectorLabels" -}}
app.kubernetes.io/name: {{ include "test-app.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
NetworkPolicy egress rule: DNS to the cluster DNS pods in kube-system, UDP and TCP.
*/}}
{{- define "test-app.dnsEgress" -}}
{{- $dns := .Values.networkPolicy.egress.dns }}
# DNS to the cluster DNS pods only.
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ $dns.namespace }}
      podSelector:
        matchLabels:
          {{- toYaml $dns.podLabels | nindent 10 }}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end }}

{{/*
Labels of the database role hook (Job, its pod, its secret and policy): distinct from the app's
selector labels, so neither the Service nor the app's NetworkPolicy selects the Job's pod.
*/}}
{{- define "test-app.dbRoleSelectorLabels" -}}
app.kubernetes.io/name: {{ include "test-app.name" . }}-db-role
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
All labels of the database role hook's objects.
*/}}
{{- define "test-app.dbRoleLabels" -}}
helm.sh/chart: {{ include "test-app.chart" . }}
{{ include "test-app.dbRoleSelectorLabels" . }}
app.kubernetes.io/version: {{ include "test-app.version" . | quote }}
app.kubernetes.io/component: db-role
app.kubernetes.io/part-of: test-app
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
NetworkPolicy egress rule: the database port, to the CIDRs or the selector of networkPolicy.egress.
*/}}
{{- define "test-app.databaseEgress" -}}
{{- $np := .Values.networkPolicy }}
# The database port.
- to:
    {{- range $np.egress.databaseCidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
    {{- with $np.egress.databaseSelector }}
    - {{- with .namespaceLabels }}
      namespaceSelector:
        matchLabels:
          {{- toYaml . | nindent 10 }}
      {{- end }}
      podSelector:
        matchLabels:
          {{- toYaml (.podLabels | default dict) | nindent 10 }}
    {{- end }}
  ports:
    - port: {{ .Values.database.port }}
      protocol: TCP
{{- end }}

{{/*
How a container reaches the database (app and db-role Job alike): endpoints, database name and
TLS (mode and CA bundle). The login is not here: each container mounts its own.
*/}}
{{- define "test-app.databaseEnv" -}}
- name: POSTGRESQL_HOST
  value: {{ .Values.database.host | quote }}
- name: POSTGRESQL_PORT
  value: {{ .Values.database.port | quote }}
{{- with .Values.database.readHost }}
- name: POSTGRESQL_READ_HOST
  value: {{ . | quote }}
{{- end }}
- name: POSTGRESQL_DBNAME
  value: {{ .Values.database.name | quote }}
- name: POSTGRESQL_SSLMODE
  value: {{ .Values.database.sslMode | quote }}
{{- with .Values.database.sslRootCert }}
- name: PGSSLROOTCERT
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/*
How the Rollout moves traffic: `alb` (weighted target groups of the AWS Load Balancer
Controller), `nginx` (a canary Ingress of the NGINX controller, AKS application routing) or
`replicas` (no Ingress: the share of canary pods behind the Service).
*/}}
{{- define "test-app.trafficRouting" -}}
{{- if not .Values.ingress.enabled }}replicas
{{- else if eq .Values.ingress.className "alb" }}alb
{{- else }}nginx
{{- end }}
{{- end }}

{{/*
The admission proxy's image: <repository>[:<tag>][@<digest>].
*/}}
{{- define "test-app.admissionProxyImage" -}}
{{- $image := .Values.admissionProxy.image }}
{{- $ref := $image.repository }}
{{- with $image.tag }}
{{- $ref = printf "%s:%s" $ref . }}
{{- end }}
{{- with $image.digest }}
{{- $ref = printf "%s@%s" $ref . }}
{{- end }}
{{- $ref }}
{{- end }}

{{/*
The admission proxy's HAProxy configuration: files/admission-proxy/haproxy.cfg with the values
filled in. The ConfigMap holds it; its checksum on the pod template rolls the pods on a change.
*/}}
{{- define "test-app.admissionProxyConfig" -}}
{{- tpl (.Files.Get "files/admission-proxy/haproxy.cfg") . }}
{{- end }}

{{/*
The name of the app container's port: `http` (what the Service, the Ingress and the
NetworkPolicies name), or `app` when the admission proxy takes `http` in front of it.
*/}}
{{- define "test-app.appPortName" -}}
{{- ternary "app" "http" .Values.admissionProxy.enabled }}
{{- end }}

{{/*
The container port named `http`, as a number: the proxy's with the admission proxy, else the app's.
*/}}
{{- define "test-app.httpPort" -}}
{{- if .Values.admissionProxy.enabled }}
{{- .Values.admissionProxy.port }}
{{- else -}}
8080
{{- end }}
{{- end }}

{{/*
checkov's skips of the image digest and pull policy checks on the pods' owner, with the reason:
the app's image without a digest is pinned by an immutable ECR tag; the admission proxy's image
without a digest by its HAProxy release tag. Empty when every image is pinned by digest (prod).
*/}}
{{- define "test-app.imagePinSkips" -}}
{{- $app := not .Values.image.digest }}
{{- $proxy := and .Values.admissionProxy.enabled (not .Values.admissionProxy.image.digest) }}
{{- if and $app (not $proxy) }}
checkov.io/skip1: CKV_K8S_43=Pinned by an immutable ECR tag (tag immutability on the repository); prod pins a digest.
checkov.io/skip2: CKV_K8S_15=The ECR repository has immutable tags, so IfNotPresent cannot run a stale image; Always would only add registry calls.
{{- else if $proxy }}
checkov.io/skip1: CKV_K8S_43={{ if $app }}The app's image is pinned by an immutable ECR tag (prod pins a digest), the admission proxy's{{ else }}The admission proxy's image is pinned{{ end }} by its HAProxy release tag (admissionProxy.image.digest pins the build).
checkov.io/skip2: CKV_K8S_15={{ if $app }}The app's ECR repository has immutable tags, and the{{ else }}The{{ end }} admission proxy's tag names one HAProxy release, so IfNotPresent runs that release; Always would only add registry calls.
{{- end }}
{{- end }}
