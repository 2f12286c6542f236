package runops

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Whoami asks the API server who the caller is. The approval admission
// policy compares an Approval's user and groups with exactly this, so a
// name from a kubeconfig, or typed in a form, would not do.
func Whoami(ctx context.Context, cfg *rest.Config) (authenticationv1.UserInfo, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	rev, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, fmt.Errorf("asking the API server who you are: %w", err)
	}
	if rev.Status.UserInfo.Username == "" {
		return authenticationv1.UserInfo{}, fmt.Errorf("the API server did not say who you are")
	}
	return rev.Status.UserInfo, nil
}
