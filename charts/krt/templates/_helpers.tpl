{{/*
The prefix of every name. Release "krt" gives krt-controller, krt-webhook
and krt-metrics, the names config/default uses. 50 characters leave room
for the longest suffix within a Service name's 63.
*/}}
{{- define "krt.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "krt.selectorLabels" -}}
app.kubernetes.io/name: krt
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "krt.labels" -}}
{{ include "krt.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/*
krt-controller's --controllers. Both planes on is "*", so that a controller
added to krt later runs without a chart change; the lists must name every
controller between them (test/install checks this against krt-controller).
*/}}
{{- define "krt.controllers" -}}
{{- $c := list -}}
{{- if .Values.controlPlane.enabled -}}
{{- $c = concat $c (list "source" "trigger" "workflow" "cluster") -}}
{{- end -}}
{{- if .Values.runtimePlane.enabled -}}
{{- $c = concat $c (list "scheduler" "reaper" "ttl" "runtime") -}}
{{- end -}}
{{- if not $c -}}
{{- fail "controlPlane.enabled and runtimePlane.enabled are both false: krt-controller would run no controller" -}}
{{- end -}}
{{- if and .Values.controlPlane.enabled .Values.runtimePlane.enabled -}}
*
{{- else -}}
{{- join "," $c -}}
{{- end -}}
{{- end -}}

{{- define "krt.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "krt.runtimedImage" -}}
{{ .Values.runtimedImage.repository }}:{{ .Values.runtimedImage.tag | default .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
