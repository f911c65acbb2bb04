"""One connection to the Kubernetes API per server: configuration from the server's environment
only, the official (blocking) client run in threads, a timeout on every call, and API failures
turned into tool errors that say what happened and what to try."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from mcp.server.fastmcp.exceptions import ToolError

DEFAULT_TIMEOUT_S = 10.0

_CORE = "/api/v1"
_APPS = "/apis/apps/v1"
_NAMESPACED = "/namespaces/{namespace}"
# The official client's read and list methods this server calls, as REST paths. Its generated API
# classes (CoreV1Api...) cost ~0.45 s of imports (hundreds of pydantic models and validators) to
# build these URLs; the server reads raw JSON anyway, so it goes through the client's ApiClient
# (configuration, credentials, TLS, urllib3) with the paths written out. Positional arguments are
# the generated methods' (`name`, then `namespace`).
_ROUTES: dict[tuple[str, str], str] = {
    ("CoreV1Api", "list_namespace"): f"{_CORE}/namespaces",
    ("CoreV1Api", "list_node"): f"{_CORE}/nodes",
    ("CoreV1Api", "read_node"): f"{_CORE}/nodes/{{name}}",
    ("CoreV1Api", "list_event_for_all_namespaces"): f"{_CORE}/events",
    ("CoreV1Api", "list_namespaced_event"): f"{_CORE}{_NAMESPACED}/events",
    ("CoreV1Api", "list_pod_for_all_namespaces"): f"{_CORE}/pods",
    ("CoreV1Api", "list_namespaced_pod"): f"{_CORE}{_NAMESPACED}/pods",
    ("CoreV1Api", "read_namespaced_pod"): f"{_CORE}{_NAMESPACED}/pods/{{name}}",
    ("CoreV1Api", "read_namespaced_pod_log"): f"{_CORE}{_NAMESPACED}/pods/{{name}}/log",
    ("CoreV1Api", "list_persistent_volume_claim_for_all_namespaces"): (
        f"{_CORE}/persistentvolumeclaims"
    ),
    ("CoreV1Api", "list_namespaced_persistent_volume_claim"): (
        f"{_CORE}{_NAMESPACED}/persistentvolumeclaims"
    ),
    ("CoreV1Api", "read_namespaced_persistent_volume_claim"): (
        f"{_CORE}{_NAMESPACED}/persistentvolumeclaims/{{name}}"
    ),
    ("CoreV1Api", "list_resource_quota_for_all_namespaces"): f"{_CORE}/resourcequotas",
    ("CoreV1Api", "list_namespaced_resource_quota"): f"{_CORE}{_NAMESPACED}/resourcequotas",
    ("CoreV1Api", "list_service_for_all_namespaces"): f"{_CORE}/services",
    ("CoreV1Api", "list_namespaced_service"): f"{_CORE}{_NAMESPACED}/services",
    ("CoreV1Api", "read_namespaced_service"): f"{_CORE}{_NAMESPACED}/services/{{name}}",
    ("CoreV1Api", "read_namespaced_endpoints"): f"{_CORE}{_NAMESPACED}/endpoints/{{name}}",
    ("CoreV1Api", "read_namespaced_config_map"): f"{_CORE}{_NAMESPACED}/configmaps/{{name}}",
    ("AppsV1Api", "list_deployment_for_all_namespaces"): f"{_APPS}/deployments",
    ("AppsV1Api", "list_namespaced_deployment"): f"{_APPS}{_NAMESPACED}/deployments",
    ("AppsV1Api", "read_namespaced_deployment"): f"{_APPS}{_NAMESPACED}/deployments/{{name}}",
    ("AppsV1Api", "list_namespaced_replica_set"): f"{_APPS}{_NAMESPACED}/replicasets",
    ("AppsV1Api", "read_namespaced_replica_set"): f"{_APPS}{_NAMESPACED}/replicasets/{{name}}",
    ("BatchV1Api", "read_namespaced_job"): "/apis/batch/v1" + _NAMESPACED + "/jobs/{name}",
}


class ConfigurationError(ValueError):
    """The server's environment is unusable (e.g. a timeout that is not a number)."""


@dataclass(frozen=True)
class KubernetesSettings:
    """What the server reads from its environment, and nothing else."""

    kubeconfig: str | None
    context: str | None
    timeout_s: float

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> KubernetesSettings:
        raw = env.get("SRE_AGENT_KUBE_TIMEOUT_S", "").strip()
        try:
            timeout = float(raw) if raw else DEFAULT_TIMEOUT_S
        except ValueError:
            raise ConfigurationError(
                f"SRE_AGENT_KUBE_TIMEOUT_S must be a number of seconds, got {raw!r}"
            ) from None
        if timeout <= 0:
            raise ConfigurationError(f"SRE_AGENT_KUBE_TIMEOUT_S must be positive, got {raw!r}")
        return cls(
            kubeconfig=env.get("KUBECONFIG") or None,
            context=env.get("SRE_AGENT_KUBE_CONTEXT") or None,
            timeout_s=timeout,
        )


class KubernetesReader:
    """Reads from the API. The client is built on first use (a missing kubeconfig is a tool
    error, not a server that fails to start) and closed with `close()`."""

    def __init__(self, settings: KubernetesSettings) -> None:
        self.settings = settings
        self._api_client: Any = None
        self._lock = asyncio.Lock()

    async def _client(self) -> Any:
        async with self._lock:
            if self._api_client is None:
                self._api_client = await asyncio.to_thread(self._build_client)
            return self._api_client

    def _build_client(self) -> Any:
        configuration = k8s.Configuration()
        kubeconfig, context = self.settings.kubeconfig, self.settings.context
        try:
            in_cluster = kubeconfig is None and context is None and _load_in_cluster(configuration)
            if not in_cluster:
                path = kubeconfig or os.path.expanduser("~/.kube/config")
                k8s_config.load_kube_config(  # type: ignore[no-untyped-call]  # untyped library
                    config_file=path,
                    context=context,
                    client_configuration=configuration,
                    persist_config=False,
                )
        except (ConfigException, OSError, ValueError, TypeError) as exc:
            where = kubeconfig or "in-cluster config or ~/.kube/config"
            raise ToolError(
                f"no usable Kubernetes configuration ({where}): {exc}. Set KUBECONFIG (and"
                " SRE_AGENT_KUBE_CONTEXT) for the kubernetes server."
            ) from exc
        # One attempt per call: the caller decides whether to ask again, and a dead API server
        # must not cost several timeouts.
        configuration.retries = 0
        return k8s.ApiClient(configuration=configuration)

    def close(self) -> None:
        if self._api_client is not None:
            self._api_client.close()
            self._api_client = None

    async def read(self, api: str, method: str, *args: Any, what: str, **kwargs: Any) -> Any:
        """What `kubernetes.client.<api>().<method>(*args, **kwargs)` reads, as parsed JSON.
        `what` names the object for error messages (`pod shop/checkout-x`)."""
        text = await self.read_text(api, method, *args, what=what, **kwargs)
        return json.loads(text)

    async def read_text(self, api: str, method: str, *args: Any, what: str, **kwargs: Any) -> str:
        path, query = request_for(api, method, *args, **kwargs)
        api_client = await self._client()
        timeout = self.settings.timeout_s

        def call() -> str:
            request = api_client.param_serialize(
                method="GET",
                resource_path=path,
                query_params=query,
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
            )
            response = api_client.call_api(*request, _request_timeout=timeout)
            response.read()
            if not 200 <= response.status <= 299:
                raise ApiException.from_response(http_resp=response, body=None, data=None)
            return bytes(response.data).decode("utf-8", errors="replace")

        try:
            return await asyncio.to_thread(call)
        except ApiException as exc:
            raise ToolError(_api_error_message(exc, what)) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ToolError(
                _unreachable_message(api_client.configuration.host, exc, timeout)
            ) from None


def request_for(
    api: str, method: str, *args: str, **kwargs: Any
) -> tuple[str, list[tuple[str, Any]]]:
    """The path and query of a read: positional arguments fill the path (`name`, then
    `namespace`, as the generated methods take them), keyword arguments become query parameters
    under their API names (`label_selector` -> `labelSelector`, `_continue` -> `continue`); None
    is left out."""
    template = _ROUTES.get((api, method))
    if template is None:
        raise ValueError(f"{api}.{method} is not a read this server knows")
    names = [n for n in ("name", "namespace") if "{" + n + "}" in template]
    if len(args) != len(names):
        raise TypeError(f"{api}.{method} takes {len(names)} positional arguments ({names})")
    path = template
    for placeholder, value in zip(names, args, strict=True):
        path = path.replace("{" + placeholder + "}", quote(value, safe=""))
    query = [(_query_name(key), value) for key, value in kwargs.items() if value is not None]
    return path, query


def _query_name(keyword: str) -> str:
    head, *rest = keyword.lstrip("_").split("_")
    return head + "".join(part.capitalize() for part in rest)


def _load_in_cluster(configuration: Any) -> bool:
    """Use the pod's service account when running in a cluster; False elsewhere."""
    try:
        k8s_config.load_incluster_config(  # type: ignore[no-untyped-call]  # untyped library
            client_configuration=configuration
        )
    except ConfigException:
        return False
    return True


def _api_error_message(exc: ApiException, what: str) -> str:
    message = exc.reason or ""
    try:
        status = json.loads(exc.body or "{}")
        message = status.get("message") or message
    except (TypeError, ValueError):
        pass
    if exc.status == 404:
        return f"{what} not found (the API said: {message})"
    if exc.status == 403:
        return (
            f"reading {what} is forbidden (the API said: {message}); the credentials in use may"
            " not read it"
        )
    if exc.status == 401:
        return f"the Kubernetes API rejected the credentials while reading {what}: {message}"
    if exc.status == 400:
        return f"the Kubernetes API refused the request for {what}: {message}"
    return f"the Kubernetes API failed reading {what}: {exc.status} {exc.reason}: {message}"


def _unreachable_message(host: str, exc: Exception, timeout: float) -> str:
    reason = getattr(exc, "reason", None) or exc
    # urllib3's NewConnectionError (connection refused) is a subclass of its TimeoutError.
    refused = isinstance(reason, urllib3.exceptions.NewConnectionError)
    if isinstance(reason, urllib3.exceptions.TimeoutError) and not refused:
        return (
            f"the Kubernetes API at {host} did not answer within {timeout:g} s"
            " (SRE_AGENT_KUBE_TIMEOUT_S); it may be overloaded or unreachable"
        )
    return (
        f"cannot reach the Kubernetes API at {host}: {reason}. Check that the cluster is up"
        " and that KUBECONFIG / SRE_AGENT_KUBE_CONTEXT point at it."
    )
