package runtimed

// What runtimed does with the API server, from every runtime pod: watch
// the Runs of its namespace (a field selector narrows them to its pod),
// write their status, renew its pod's Lease, and read the Runtime's
// ArtifactStore (its credentials Secret is granted by name, like secretEnv's). `make generate` writes
// these into the ClusterRole krt-runtimed (config/rbac/runtimed.yaml).
// The runtime controller binds it with a RoleBinding per Runtime, so it
// holds only in the Runtime's namespace, and the controller needs `bind`
// on that one ClusterRole, never `escalate`. A Run's secretEnv Secrets
// are granted apart, by name, in the Runtime's own Role.
//
// Lease names are pod names, unknown in advance: the admission policy in
// config/policy holds each pod to its own Lease.

// +kubebuilder:rbac:groups=krt.dev,resources=runs,verbs=get;list;watch
// +kubebuilder:rbac:groups=krt.dev,resources=runs/status,verbs=update
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update
// +kubebuilder:rbac:groups=krt.dev,resources=artifactstores,verbs=get
