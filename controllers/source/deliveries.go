package source

import (
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// The record of deliveries a repository's receiver acted on. It lives in
// the repository's status, so every replica reads the same record, and a
// delivery is recorded in the same conditional write as what it changed:
// two replicas given one delivery cannot both act on it.
const (
	maxDeliveries = 256
	deliveryTTL   = 24 * time.Hour
)

// delivered reports whether a delivery was acted on.
func delivered(repo *krtv1.WorkflowRepository, id string) bool {
	return slices.ContainsFunc(repo.Status.Deliveries, func(d krtv1.WebhookDelivery) bool { return d.ID == id })
}

// recordDelivery adds a delivery, dropping those past the TTL and then the
// oldest beyond the bound.
func recordDelivery(repo *krtv1.WorkflowRepository, id string, now time.Time) {
	cutoff := now.Add(-deliveryTTL)
	kept := slices.DeleteFunc(repo.Status.Deliveries, func(d krtv1.WebhookDelivery) bool { return d.Time.Time.Before(cutoff) })
	kept = append(kept, krtv1.WebhookDelivery{ID: id, Time: metav1.NewTime(now)})
	if len(kept) > maxDeliveries {
		kept = kept[len(kept)-maxDeliveries:]
	}
	repo.Status.Deliveries = kept
}
