"""A read-only Kubernetes API server over a fixed set of objects, in the real wire format:
discovery, list/get with selectors and paging, server-side Tables, pod logs, and `Status` errors
(404 NotFound, 403 Forbidden for Secrets and every write, 400 for bad selectors or log requests)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from mcp_bridge.servers.kubernetes.kubectl import epoch

from .cluster import ClusterStore, StoredObject
from .resources import Resource, group_versions
from .selectors import SelectorError, parse_field_selector, parse_label_selector
from .tables import printer_for
from .timeoffsets import format_time

SERVER_VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.4",
    "gitCommit": "a78aa47129b8539636eb86a9d00e31b2720fe06b",
    "gitTreeState": "clean",
    "buildDate": "2024-12-10T18:35:45Z",
    "goVersion": "go1.22.9",
    "compiler": "gc",
    "platform": "linux/amd64",
}
# A kubeconfig with no credentials is anonymous to a real API server.
USER = "system:anonymous"
_WRITE_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_JSON = "application/json"
# How the kubelet words a log request for a container that never started.
_WAITING_WORDS = {
    "ErrImagePull": "image can't be pulled",
    "ImagePullBackOff": "trying and failing to pull image",
}


class ApiError(Exception):
    """An error the API answers with a `Status` object."""

    def __init__(
        self, code: int, reason: str, message: str, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = dict(details or {})

    def response(self) -> web.Response:
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }
        return web.Response(status=self.code, text=_dumps(status), content_type=_JSON)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def not_found(resource: Resource, name: str) -> ApiError:
    details = {"name": name, "kind": resource.plural}
    if resource.group:
        details["group"] = resource.group
    return ApiError(404, "NotFound", f'{resource.qualified_plural} "{name}" not found', details)


def _page_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def forbidden(resource: Resource, verb: str, namespace: str | None, name: str | None) -> ApiError:
    subject = f'{resource.qualified_plural} "{name}"' if name else resource.qualified_plural
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    details: dict[str, Any] = {"kind": resource.plural}
    if name:
        details["name"] = name
    if resource.group:
        details["group"] = resource.group
    return ApiError(
        403,
        "Forbidden",
        f'{subject} is forbidden: User "{USER}" cannot {verb} resource "{resource.plural}"'
        f' in API group "{resource.group}" {scope}',
        details,
    )


@dataclass(frozen=True)
class _Wanted:
    """What the Accept header asks for: a plain object, a Table, or metadata only."""

    shape: str  # "object" | "table" | "metadata"
    version: str = "v1"


def _negotiate(accept: str) -> _Wanted:
    if not accept.strip():
        return _Wanted("object")
    for media in accept.split(","):
        kind, *raw_params = (part.strip() for part in media.split(";"))
        if kind not in (_JSON, "application/*", "*/*"):
            continue
        params = dict(p.split("=", 1) for p in raw_params if "=" in p)
        as_kind = params.get("as")
        if as_kind is None:
            return _Wanted("object")
        if params.get("g") != "meta.k8s.io" or params.get("v") not in ("v1", "v1beta1"):
            continue
        if as_kind == "Table":
            return _Wanted("table", params["v"])
        if as_kind in ("PartialObjectMetadata", "PartialObjectMetadataList"):
            return _Wanted("metadata", params["v"])
    raise ApiError(406, "NotAcceptable", f"only the following media types are accepted: {_JSON}")


def _flag(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1")


def _int_param(query: Mapping[str, str], name: str, *, minimum: int) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name}: Invalid value: {raw!r}: must be an integer") from None
    if value < minimum:
        raise bad_request(f"{name}: Invalid value: {value}: must be {minimum} or greater")
    return value


class KubernetesApi:
    """Routes one request to discovery, list, get or a subresource; read-only."""

    def __init__(self, store: ClusterStore, logs: Mapping[str, str], now: Callable[[], float]):
        self._store = store
        self._logs = logs
        self._now = now
        self._group_versions = group_versions()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return self._route(request)
        except ApiError as error:
            return error.response()

    # -- routing ---------------------------------------------------------------------------

    def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        parts = [p for p in path.split("/") if p]
        resource_path = self._split_resource_path(parts)
        if request.method not in ("GET", "HEAD"):
            self._refuse_write(request.method, resource_path)
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok", content_type="text/plain")
        if path == "/version":
            return self._json(SERVER_VERSION)
        if path == "/api":
            return self._json(
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": request.host}
                    ],
                }
            )
        if path == "/apis":
            return self._json(
                {"kind": "APIGroupList", "apiVersion": "v1", "groups": self._groups()}
            )
        if len(parts) == 2 and parts[0] == "apis":
            for group in self._groups():
                if group["name"] == parts[1]:
                    return self._json({"kind": "APIGroup", "apiVersion": "v1", **group})
            raise _page_not_found()
        if resource_path is None:
            raise _page_not_found()
        group_version, rest = resource_path
        if not rest:
            return self._json(self._resource_list(group_version))
        if _flag(request.query.get("watch")):
            raise ApiError(
                405,
                "MethodNotAllowed",
                "the sandbox serves a fixed snapshot of a cluster: watch is not supported",
            )
        return self._serve_resource(request, group_version, rest)

    def _split_resource_path(self, parts: list[str]) -> tuple[str, list[str]] | None:
        if len(parts) >= 2 and parts[0] == "api" and parts[1] == "v1":
            group_version, rest = "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            return None
        if group_version not in self._group_versions:
            return None
        return group_version, rest

    def _resolve(self, group_version: str, plural: str) -> Resource:
        for resource in self._group_versions[group_version]:
            if resource.plural == plural:
                return resource
        raise _page_not_found()

    def _serve_resource(
        self, request: web.Request, group_version: str, rest: list[str]
    ) -> web.StreamResponse:
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        resource = self._resolve(group_version, rest[0])
        if namespace is not None and not resource.namespaced:
            raise _page_not_found()
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if len(rest) > 3 or (name is not None and resource.namespaced and namespace is None):
            raise _page_not_found()
        if not resource.readable:
            raise forbidden(resource, "get" if name else "list", namespace, name)
        wanted = _negotiate(request.headers.get("Accept", ""))
        if name is None:
            return self._list(request, resource, namespace, wanted)
        stored = self._store.get(resource.kind, namespace or "", name)
        if stored is None:
            raise not_found(resource, name)
        if subresource is None or subresource == "status":
            return self._one(request, resource, stored, wanted)
        if resource.kind == "Pod" and subresource == "log":
            return self._pod_log(request, stored)
        raise _page_not_found()

    def _refuse_write(self, method: str, resource_path: tuple[str, list[str]] | None) -> None:
        if resource_path is not None and resource_path[1]:
            rest = resource_path[1]
            namespace: str | None = None
            if rest[0] == "namespaces" and len(rest) >= 3:
                namespace, rest = rest[1], rest[2:]
            try:
                resource = self._resolve(resource_path[0], rest[0])
            except ApiError:
                resource = None
            if resource is not None:
                name = rest[1] if len(rest) > 1 else None
                verb = _WRITE_VERBS.get(method, method.lower())
                if verb == "delete" and name is None:
                    verb = "deletecollection"
                raise forbidden(resource, verb, namespace, name)
        raise ApiError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )

    # -- discovery -------------------------------------------------------------------------

    def _groups(self) -> list[dict[str, Any]]:
        groups = []
        for group_version in self._group_versions:
            if "/" not in group_version:
                continue
            group, version = group_version.split("/")
            entry = {"groupVersion": group_version, "version": version}
            groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
        return groups

    def _resource_list(self, group_version: str) -> dict[str, Any]:
        resources: list[dict[str, Any]] = []
        for resource in self._group_versions[group_version]:
            entry: dict[str, Any] = {
                "name": resource.plural,
                "singularName": resource.singular,
                "namespaced": resource.namespaced,
                "kind": resource.kind,
                "verbs": ["get", "list"],
            }
            if resource.short_names:
                entry["shortNames"] = list(resource.short_names)
            if resource.categories:
                entry["categories"] = list(resource.categories)
            resources.append(entry)
            sub = {"singularName": "", "namespaced": resource.namespaced, "kind": resource.kind}
            resources.append({"name": f"{resource.plural}/status", **sub, "verbs": ["get"]})
            if resource.kind == "Pod":
                resources.append({"name": "pods/log", **sub, "verbs": ["get"]})
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": resources,
        }

    # -- list and get ----------------------------------------------------------------------

    def _list(
        self, request: web.Request, resource: Resource, namespace: str | None, wanted: _Wanted
    ) -> web.StreamResponse:
        query = request.query
        try:
            labels = parse_label_selector(query.get("labelSelector", ""))
            fields = parse_field_selector(query.get("fieldSelector", ""), resource)
        except SelectorError as exc:
            raise bad_request(str(exc)) from None
        objects = [
            o
            for o in self._store.list(resource.kind, namespace)
            if labels.matches(o.labels) and fields.matches(o.body)
        ]
        limit = _int_param(query, "limit", minimum=0) or 0
        start = _decode_continue(query.get("continue", ""))
        page = objects[start : start + limit] if limit else objects[start:]
        metadata: dict[str, Any] = {"resourceVersion": self._store.resource_version}
        remaining = len(objects) - start - len(page)
        if limit and remaining > 0:
            metadata["continue"] = _encode_continue(start + len(page), self._store.resource_version)
            metadata["remainingItemCount"] = remaining
        if wanted.shape == "table":
            return self._table(request, resource, page, wanted.version, metadata)
        if wanted.shape == "metadata":
            items = ",".join(_dumps(_partial(o.body, wanted.version)) for o in page)
            kind, api_version = "PartialObjectMetadataList", f"meta.k8s.io/{wanted.version}"
        else:
            items = ",".join(o.item_json for o in page)
            kind, api_version = f"{resource.kind}List", resource.api_version
        body = (
            f'{{"kind":"{kind}","apiVersion":"{api_version}",'
            f'"metadata":{_dumps(metadata)},"items":[{items}]}}'
        )
        return web.Response(text=body, content_type=_JSON)

    def _one(
        self, request: web.Request, resource: Resource, stored: StoredObject, wanted: _Wanted
    ) -> web.StreamResponse:
        if wanted.shape == "table":
            metadata = {"resourceVersion": stored.body["metadata"]["resourceVersion"]}
            return self._table(request, resource, [stored], wanted.version, metadata)
        if wanted.shape == "metadata":
            return self._json(_partial(stored.body, wanted.version))
        return web.Response(text=stored.full_json, content_type=_JSON)

    def _table(
        self,
        request: web.Request,
        resource: Resource,
        objects: Sequence[StoredObject],
        version: str,
        metadata: dict[str, Any],
    ) -> web.StreamResponse:
        printer = printer_for(resource.kind)
        include = request.query.get("includeObject", "Metadata")
        now = self._now()
        rows = []
        for stored in objects:
            row: dict[str, Any] = {"cells": printer.cells(stored.body, now)}
            if include == "Object":
                row["object"] = stored.body
            elif include != "None":
                row["object"] = _partial(stored.body, version)
            rows.append(row)
        table = {
            "kind": "Table",
            "apiVersion": f"meta.k8s.io/{version}",
            "metadata": metadata,
            "columnDefinitions": [column.definition() for column in printer.columns],
            "rows": rows,
        }
        return self._json(table)

    def _json(self, value: Any) -> web.Response:
        return web.Response(text=_dumps(value), content_type=_JSON)

    # -- logs ------------------------------------------------------------------------------

    def _pod_log(self, request: web.Request, stored: StoredObject) -> web.StreamResponse:
        pod, query = stored.body, request.query
        container = self._log_container(pod, query.get("container", ""))
        previous = _flag(query.get("previous"))
        tail = _int_param(query, "tailLines", minimum=0)
        since_seconds = _int_param(query, "sinceSeconds", minimum=1)
        limit_bytes = _int_param(query, "limitBytes", minimum=1)
        since_time = query.get("sinceTime")
        if since_seconds is not None and since_time:
            raise bad_request("at most one of sinceTime or sinceSeconds may be specified")
        since = epoch(since_time) if since_time else None
        if since_time and since is None:
            raise bad_request(f"sinceTime: Invalid value: {since_time!r}: must be RFC 3339")
        if since_seconds is not None:
            since = self._now() - since_seconds

        lines = self._log_lines(pod, container, previous)
        if since is not None:
            lines = [(t, text) for t, text in lines if t >= since]
        if tail is not None:
            lines = lines[-tail:] if tail else []
        stamp = _flag(query.get("timestamps"))
        body = "".join(
            f"{format_time(t, micro=True)[:-1]}000Z {text}\n" if stamp else f"{text}\n"
            for t, text in lines
        )
        if limit_bytes is not None:
            body = body.encode()[:limit_bytes].decode(errors="ignore")
        return web.Response(text=body, content_type="text/plain")

    def _log_container(self, pod: dict[str, Any], container: str) -> str:
        spec, name = pod.get("spec") or {}, str(pod["metadata"]["name"])
        containers = [str(c["name"]) for c in spec.get("containers") or []]
        init = [str(c["name"]) for c in spec.get("initContainers") or []]
        if not container and len(containers) == 1:
            container = containers[0]
        elif not container:
            message = (
                f"a container name must be specified for pod {name},"
                f" choose one of: [{' '.join(containers)}]"
            )
            if init:
                message += f" or one of the init containers: [{' '.join(init)}]"
            raise bad_request(message)
        elif container not in containers and container not in init:
            raise bad_request(f"container {container} is not valid for pod {name}")
        if not spec.get("nodeName"):
            raise bad_request(f"pod {name} does not have a host assigned")
        return container

    def _log_lines(
        self, pod: dict[str, Any], container: str, previous: bool
    ) -> list[tuple[float, str]]:
        """The log's lines with the times they were written: spread evenly over the container
        run they belong to (the scenario writes text, not times)."""
        meta, status = pod["metadata"], pod.get("status") or {}
        name = meta["name"]
        statuses = [*status.get("initContainerStatuses", []), *status.get("containerStatuses", [])]
        container_status: dict[str, Any] = next(
            (s for s in statuses if s.get("name") == container), {}
        )
        state = container_status.get("state") or {}
        last = (container_status.get("lastState") or {}).get("terminated")
        key = f"{meta['namespace']}/{name}/{container}"
        # Which run of the container the request reads follows the kubelet: `previous` is the
        # last terminated run; otherwise the running or terminated one, and while a container
        # waits to restart (CrashLoopBackOff) its last run, the same one `previous` shows.
        if previous:
            if not last:
                raise bad_request(
                    f'previous terminated container "{container}" in pod "{name}" not found'
                )
            text, run = self._logs.get(f"{key}:previous", ""), last
        elif state.get("running") or state.get("terminated"):
            text, run = self._logs.get(key, ""), state.get("running") or state.get("terminated")
        elif last:
            text = self._logs.get(key, self._logs.get(f"{key}:previous", ""))
            run = last
        else:
            reason = (state.get("waiting") or {}).get("reason") or "ContainerCreating"
            shown = _WAITING_WORDS.get(reason, reason)
            raise bad_request(
                f'container "{container}" in pod "{name}" is waiting to start: {shown}'
            )
        now = self._now()
        start = epoch(run.get("startedAt")) or epoch(status.get("startTime"))
        start = start if start is not None else epoch(meta.get("creationTimestamp")) or now
        end = epoch(run.get("finishedAt")) or now
        written = text.splitlines()
        if len(written) <= 1:
            return [(end, line) for line in written]
        step = (end - start) / (len(written) - 1)
        return [(start + step * i, line) for i, line in enumerate(written)]


def _partial(body: dict[str, Any], version: str) -> dict[str, Any]:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": body["metadata"],
    }


def _encode_continue(offset: int, resource_version: str) -> str:
    token = _dumps({"v": "meta.k8s.io/v1", "rv": int(resource_version), "start": offset})
    return base64.urlsafe_b64encode(token.encode()).decode()


def _decode_continue(token: str) -> int:
    if not token:
        return 0
    try:
        start = json.loads(base64.urlsafe_b64decode(token.encode()))["start"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise bad_request(
            "continue key is not valid: pass the continue value of the last list"
        ) from None
    if not isinstance(start, int) or start < 0:
        raise bad_request("continue key is not valid: pass the continue value of the last list")
    return start


def create_kubernetes_app(
    store: ClusterStore, logs: Mapping[str, str], now: Callable[[], float]
) -> web.Application:
    """The aiohttp application serving `store` (and `logs`, keyed `ns/pod/container[:previous]`);
    `now()` is the current epoch time, used for ages and `sinceSeconds`."""
    api = KubernetesApi(store, logs, now)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", api.handle)
    return app


__all__ = ["ApiError", "KubernetesApi", "create_kubernetes_app"]
