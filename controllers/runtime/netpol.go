package runtime

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// networkPolicy closes a Runtime's pods to all ingress but runtimed's
// metrics port, from namespaces labelled krt.dev/scrape-metrics=true (as
// the chart admits scrapers to krt-controller). Nothing else needs to
// reach them: `krt logs` reads runtimed's container log through the API
// server (pods/log), runtimed's log server answers nobody in a cluster, and
// the kubelet's probes come from the node, which a NetworkPolicy always
// admits. With spec.network it also closes egress to all but its rules,
// DNS, and the API server that runtimed needs.
func networkPolicy(rt *krtv1.Runtime, apiServer []networkingv1.NetworkPolicyEgressRule) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: meta(rt, Name(rt)),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{krtv1.LabelRuntime: rt.Name}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{metricsIngress()},
		},
	}
	if rt.Spec.Network == nil {
		return np
	}
	np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	dns := intstr.FromInt32(53)
	np.Spec.Egress = append(append([]networkingv1.NetworkPolicyEgressRule{}, rt.Spec.Network.Egress...),
		networkingv1.NetworkPolicyEgressRule{
			To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}},
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptrProto(corev1.ProtocolUDP), Port: &dns}, {Protocol: ptrProto(corev1.ProtocolTCP), Port: &dns}},
		})
	np.Spec.Egress = append(np.Spec.Egress, apiServer...)
	return np
}

// metricsIngress admits scrapers to runtimed's metrics port only.
func metricsIngress() networkingv1.NetworkPolicyIngressRule {
	port := intstr.FromString(krtv1.MetricsPortName)
	return networkingv1.NetworkPolicyIngressRule{
		From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{krtv1.LabelScrapeMetrics: "true"}}}},
		Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptrProto(corev1.ProtocolTCP), Port: &port}},
	}
}

func ptrProto(p corev1.Protocol) *corev1.Protocol { return &p }

// apiServerEgress allows the API server's endpoints, as the `kubernetes`
// Service's EndpointSlices list them: a NetworkPolicy cannot name a
// Service, and runtimed must reach the API server.
func apiServerEgress(ctx context.Context, c client.Reader) ([]networkingv1.NetworkPolicyEgressRule, error) {
	slices := &discoveryv1.EndpointSliceList{}
	if err := c.List(ctx, slices, client.InNamespace(metav1.NamespaceDefault),
		client.MatchingLabels{discoveryv1.LabelServiceName: "kubernetes"}); err != nil {
		return nil, err
	}
	var rules []networkingv1.NetworkPolicyEgressRule
	for _, s := range slices.Items {
		rule := networkingv1.NetworkPolicyEgressRule{}
		for _, p := range s.Ports {
			if p.Port != nil {
				port := intstr.FromInt32(*p.Port)
				rule.Ports = append(rule.Ports, networkingv1.NetworkPolicyPort{Protocol: p.Protocol, Port: &port})
			}
		}
		for _, e := range s.Endpoints {
			for _, addr := range e.Addresses {
				rule.To = append(rule.To, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: hostCIDR(addr, s.AddressType)}})
			}
		}
		if len(rule.To) > 0 {
			rules = append(rules, rule)
		}
	}
	return rules, nil
}

func hostCIDR(addr string, t discoveryv1.AddressType) string {
	if t == discoveryv1.AddressTypeIPv6 {
		return addr + "/128"
	}
	return addr + "/32"
}
