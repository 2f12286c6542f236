// Package runops is what a person does to a workflow run, shared by the
// krt CLI and the web UI so that the two can never disagree: decide an
// approval, cancel, rerun, and read a Run's log from whichever cluster ran
// it. Each function acts with the client it is given, so the caller's own
// identity, and RBAC, apply.
package runops
