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
The two planes' controllers. Between them they must name every controller
krt-controller knows (test/install checks this against krt-controller), and
each has a ClusterRole in files/rbac (rbac.yaml fails on one in no plane).
*/}}
{{- define "krt.controlPlane" -}}
source,trigger,workflow,cluster
{{- end -}}

{{- define "krt.runtimePlane" -}}
scheduler,reaper,ttl,runtime,maintainer
{{- end -}}

{{/* The controllers this release runs, comma-separated. */}}
{{- define "krt.controllerList" -}}
{{- $c := list -}}
{{- if .Values.controlPlane.enabled -}}
{{- $c = concat $c (include "krt.controlPlane" . | splitList ",") -}}
{{- end -}}
{{- if .Values.runtimePlane.enabled -}}
{{- $c = concat $c (include "krt.runtimePlane" . | splitList ",") -}}
{{- end -}}
{{- if not $c -}}
{{- fail "controlPlane.enabled and runtimePlane.enabled are both false: krt-controller would run no controller" -}}
{{- end -}}
{{- join "," $c -}}
{{- end -}}

{{/*
krt-controller's --controllers. Both planes on is "*", so that a controller
added to krt later runs without a chart change.
*/}}
{{- define "krt.controllers" -}}
{{- $list := include "krt.controllerList" . -}}
{{- if and .Values.controlPlane.enabled .Values.runtimePlane.enabled -}}
*
{{- else -}}
{{- $list -}}
{{- end -}}
{{- end -}}

{{- define "krt.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "krt.runtimedImage" -}}
{{ .Values.runtimedImage.repository }}:{{ .Values.runtimedImage.tag | default .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
