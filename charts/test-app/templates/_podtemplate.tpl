{{/*
The pod template of the app, shared by the Deployment and the Argo Rollout. Topology spread counts
only pods of the same revision: the label carrying the revision is `pod-template-hash` on a
Deployment's pods and `rollouts-pod-template-hash` on a Rollout's.
*/}}
{{- define "test-app.podTemplate" -}}
{{- $hashKey := ternary "rollouts-pod-template-hash" "pod-template-hash" .Values.rollout.enabled }}
template:
  metadata:
    labels:
      {{- include "test-app.labels" . | nindent 6 }}
      {{- with .Values.podLabels }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    {{- if or .Values.podAnnotations .Values.admissionProxy.enabled }}
    annotations:
      {{- with .Values.podAnnotations }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
      {{- if .Values.admissionProxy.enabled }}
      # A change of the proxy's configuration rolls the pods (HAProxy reads it at start only).
      checksum/admission-proxy: {{ include "test-app.admissionProxyConfig" . | sha256sum }}
      {{- end }}
    {{- end }}
  spec:
    serviceAccountName: {{ include "test-app.serviceAccountName" . }}
    # The app never talks to the Kubernetes API: no token in the pod.
    automountServiceAccountToken: false
    # No {SERVICE}_PORT variables: they leak other services' addresses and can collide with the
    # app's own PORT setting.
    enableServiceLinks: false
    {{- with .Values.priorityClassName }}
    priorityClassName: {{ . }}
    {{- end }}
    {{- with .Values.imagePullSecrets }}
    imagePullSecrets:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    securityContext:
      {{- toYaml .Values.podSecurityContext | nindent 6 }}
    terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
    affinity:
      {{- with .Values.nodeAffinity }}
      nodeAffinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      podAntiAffinity:
        {{- if eq .Values.scheduling.podAntiAffinity "hard" }}
        requiredDuringSchedulingIgnoredDuringExecution:
          - topologyKey: kubernetes.io/hostname
            labelSelector:
              matchLabels:
                {{- include "test-app.selectorLabels" . | nindent 16 }}
        {{- else }}
        preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              topologyKey: kubernetes.io/hostname
              labelSelector:
                matchLabels:
                  {{- include "test-app.selectorLabels" . | nindent 18 }}
        {{- end }}
    topologySpreadConstraints:
      - topologyKey: topology.kubernetes.io/zone
        maxSkew: {{ .Values.scheduling.zoneSpread.maxSkew }}
        whenUnsatisfiable: {{ .Values.scheduling.zoneSpread.whenUnsatisfiable }}
        labelSelector:
          matchLabels:
            {{- include "test-app.selectorLabels" . | nindent 12 }}
        # Count only pods of the same rollout revision, so a rollout is not blocked by old pods.
        matchLabelKeys:
          - {{ $hashKey }}
      - topologyKey: kubernetes.io/hostname
        maxSkew: {{ .Values.scheduling.hostnameSpread.maxSkew }}
        whenUnsatisfiable: {{ .Values.scheduling.hostnameSpread.whenUnsatisfiable }}
        labelSelector:
          matchLabels:
            {{- include "test-app.selectorLabels" . | nindent 12 }}
        matchLabelKeys:
          - {{ $hashKey }}
    {{- with .Values.nodeSelector }}
    nodeSelector:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .Values.tolerations }}
    tolerations:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- if .Values.admissionProxy.enabled }}
    {{- $proxy := .Values.admissionProxy }}
    initContainers:
      # The admission proxy (ADR 0010): a native sidecar (`restartPolicy: Always`), started and
      # probed before the app and stopped after it, with a CPU limit of its own. It takes the
      # port named `http`; the app's port is `app`.
      - name: admission-proxy
        image: {{ include "test-app.admissionProxyImage" . | quote }}
        imagePullPolicy: {{ $proxy.image.pullPolicy }}
        restartPolicy: Always
        # In the foreground, logging to stderr; it writes no file (no pid file, no socket).
        command:
          - haproxy
          - -db
          - -f
          - /usr/local/etc/haproxy/haproxy.cfg
        ports:
          - name: http
            containerPort: {{ $proxy.port }}
            protocol: TCP
          - name: proxy-metrics
            containerPort: {{ $proxy.metricsPort }}
            protocol: TCP
        # HAProxy's own answer on its monitor port: the process, not the app behind it.
        startupProbe:
          httpGet:
            path: /healthz
            port: proxy-metrics
          periodSeconds: 1
          timeoutSeconds: 1
          failureThreshold: 30
        readinessProbe:
          httpGet:
            path: /healthz
            port: proxy-metrics
          periodSeconds: 5
          timeoutSeconds: 2
          failureThreshold: 2
        livenessProbe:
          httpGet:
            path: /healthz
            port: proxy-metrics
          periodSeconds: 10
          timeoutSeconds: 2
          failureThreshold: 3
        resources:
          {{- toYaml $proxy.resources | nindent 10 }}
        securityContext:
          {{- toYaml .Values.securityContext | nindent 10 }}
        volumeMounts:
          - name: admission-proxy
            mountPath: /usr/local/etc/haproxy
            readOnly: true
    {{- end }}
    containers:
      - name: {{ .Chart.Name }}
        image: {{ include "test-app.image" . | quote }}
        imagePullPolicy: {{ .Values.image.pullPolicy }}
        ports:
          # `app` behind the admission proxy, which takes the name `http`.
          - name: {{ include "test-app.appPortName" . }}
            containerPort: 8080
            protocol: TCP
        env:
          - name: PORT
            value: "8080"
          - name: WORKERS
            value: {{ .Values.app.workers | quote }}
          - name: DRAIN_SECONDS
            value: {{ .Values.app.drainSeconds | quote }}
          - name: LOG_LEVEL
            value: {{ .Values.app.logLevel | quote }}
          - name: ACCESS_LOG
            value: {{ .Values.app.accessLog | quote }}
          - name: POOL_MIN_SIZE
            value: {{ .Values.app.poolMinSize | quote }}
          - name: POOL_MAX_SIZE
            value: {{ .Values.app.poolMaxSize | quote }}
          - name: STARTUP_TIMEOUT_SECONDS
            value: {{ .Values.app.startupTimeoutSeconds | quote }}
          - name: PING_TIMEOUT_SECONDS
            value: {{ .Values.app.pingTimeoutSeconds | quote }}
          - name: MAX_IN_FLIGHT
            value: {{ .Values.app.maxInFlight | quote }}
          {{- include "test-app.databaseEnv" . | nindent 10 }}
          # The login as files, not variables: the kubelet rewrites them when the Secret
          # changes, and the app re-reads them when a new login is refused (rotation).
          - name: POSTGRESQL_USER_FILE
            value: {{ printf "%s/user" .Values.database.credentialsMountPath | quote }}
          - name: POSTGRESQL_PASSWORD_FILE
            value: {{ printf "%s/password" .Values.database.credentialsMountPath | quote }}
          {{- $userEnv := list }}
          {{- range .Values.app.extraEnv }}
          {{- $userEnv = append $userEnv .name }}
          {{- end }}
          {{- $trusted := list }}
          {{- if .Values.ingress.enabled }}
          {{- $trusted = concat $trusted .Values.networkPolicy.ingress.loadBalancerCidrs }}
          {{- end }}
          {{- if .Values.admissionProxy.enabled }}
          {{- $trusted = append $trusted "127.0.0.1/32" }}
          {{- end }}
          {{- if and $trusted (not (has "TRUSTED_PROXIES" $userEnv)) }}
          # The ALB's subnets, and the admission proxy on the loopback: the client address each
          # appends to X-Forwarded-For is believed, and logged as `client` (app.extraEnv may
          # set it instead).
          - name: TRUSTED_PROXIES
            value: {{ join "," $trusted | quote }}
          {{- end }}
          {{- with .Values.app.extraEnv }}
          {{- toYaml . | nindent 10 }}
          {{- end }}
        # The probes go to the app's own port, never through the admission proxy.
        # /readyz (ADR 0014): not ready until the writer has answered once, so a wrong host or
        # password blocks the rollout (the startup probe ends such a pod); ready from then on
        # until the drain, whatever the database does: an outage shows as /health 500 DOWN
        # and in test_app_db_up, and does not empty the Service or the ALB target group.
        startupProbe:
          httpGet:
            path: {{ .Values.probes.startup.path }}
            port: {{ include "test-app.appPortName" . }}
          periodSeconds: {{ .Values.probes.startup.periodSeconds }}
          timeoutSeconds: {{ .Values.probes.startup.timeoutSeconds }}
          failureThreshold: {{ .Values.probes.startup.failureThreshold }}
        readinessProbe:
          httpGet:
            path: {{ .Values.probes.readiness.path }}
            port: {{ include "test-app.appPortName" . }}
          periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
          timeoutSeconds: {{ .Values.probes.readiness.timeoutSeconds }}
          failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
          successThreshold: {{ .Values.probes.readiness.successThreshold }}
        livenessProbe:
          httpGet:
            path: {{ .Values.probes.liveness.path }}
            port: {{ include "test-app.appPortName" . }}
          periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
          timeoutSeconds: {{ .Values.probes.liveness.timeoutSeconds }}
          failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
        lifecycle:
          # Delay SIGTERM until the endpoint is gone from the Service and the ALB target group,
          # with the kubelet's native sleep (no shell in the image).
          preStop:
            sleep:
              seconds: {{ .Values.lifecycle.preStopSleepSeconds }}
        resources:
          {{- toYaml .Values.resources | nindent 10 }}
        securityContext:
          {{- toYaml .Values.securityContext | nindent 10 }}
        volumeMounts:
          - name: tmp
            mountPath: /tmp
          - name: database-credentials
            mountPath: {{ .Values.database.credentialsMountPath }}
            readOnly: true
    volumes:
      - name: tmp
        emptyDir:
          sizeLimit: {{ .Values.tmpVolume.sizeLimit }}
      # A projected Secret volume (never subPath, which the kubelet does not update).
      - name: database-credentials
        projected:
          defaultMode: 0440
          sources:
            - secret:
                name: {{ include "test-app.databaseSecretName" . }}
                items:
                  - key: {{ .Values.database.secretKeys.user }}
                    path: user
                  - key: {{ .Values.database.secretKeys.password }}
                    path: password
      {{- if .Values.admissionProxy.enabled }}
      - name: admission-proxy
        configMap:
          name: {{ include "test-app.fullname" . }}-admission-proxy
      {{- end }}
{{- end }}
