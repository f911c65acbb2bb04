"""The bundled MCP servers' tools as the team contract fixes them (name -> argument -> required),
so runbooks can be linted without starting a server."""

from __future__ import annotations

from collections.abc import Mapping

CATALOGUE_TOOLS: Mapping[str, Mapping[str, bool]] = {
    "kubernetes_list_namespaces": {},
    "kubernetes_list_pods": {
        "namespace": False,
        "label_selector": False,
        "field_selector": False,
        "limit": False,
    },
    "kubernetes_get_pod": {"name": True, "namespace": True},
    "kubernetes_pod_logs": {
        "name": True,
        "namespace": True,
        "container": False,
        "previous": False,
        "tail_lines": False,
        "since_seconds": False,
        "grep": False,
    },
    "kubernetes_list_events": {
        "namespace": False,
        "involved_object": False,
        "kind": False,
        "warnings_only": False,
        "limit": False,
    },
    "kubernetes_list_deployments": {"namespace": False},
    "kubernetes_get_deployment": {"name": True, "namespace": True},
    "kubernetes_list_nodes": {},
    "kubernetes_get_node": {"name": True},
    "kubernetes_list_pvcs": {"namespace": False},
    "kubernetes_get_pvc": {"name": True, "namespace": True},
    "kubernetes_list_resource_quotas": {"namespace": False},
    "kubernetes_list_services": {"namespace": False},
    "kubernetes_get_service": {"name": True, "namespace": True},
    "kubernetes_get_configmap": {"name": True, "namespace": True},
    "prometheus_query": {"query": True, "time": False},
    "prometheus_query_range": {"query": True, "start": False, "end": False, "step": False},
    "prometheus_series": {"match": True, "start": False, "end": False},
    "prometheus_label_names": {},
    "prometheus_label_values": {"label": True},
    "prometheus_alerts": {},
}
