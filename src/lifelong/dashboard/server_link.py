"""The link to a running prediction server: live routing numbers, experiments started and stopped.

Tests in production (shadow, canary, A/B, bandit, interleaving) run inside the prediction
server (``lifelong serve``); its routing API reports their live numbers and starts or stops
them. The dashboard talks to it over HTTP with the admin token.

Examples
--------
>>> server = PredictionServer("http://127.0.0.1:8000/", admin_token="t")
>>> server.url
'http://127.0.0.1:8000'
>>> server.close()
"""

from __future__ import annotations

from typing import Any

import httpx

from lifelong.errors import ConfigError, NotFoundError, RegistryError, ValidationError


class ServerError(RegistryError):
    """The prediction server refused a routing call, or could not be reached."""


class PredictionServer:
    """A prediction server's routing API.

    Parameters
    ----------
    url
        Its base URL (``http://127.0.0.1:8000``).
    admin_token
        Bearer token of its admin API (starting and stopping experiments).
    api_token
        Bearer token of its model endpoints, when it requires one (the routing status).
    timeout
        Seconds per call.
    """

    def __init__(
        self,
        url: str,
        *,
        admin_token: str | None = None,
        api_token: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"server: expected an http(s) URL, got {url!r}")
        if not timeout > 0:
            raise ConfigError(f"timeout: expected seconds > 0, got {timeout!r}")
        self.url = url.rstrip("/")
        self._admin = admin_token
        self._api = api_token
        self._client = httpx.Client(base_url=self.url, timeout=timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _call(
        self, method: str, path: str, *, token: str | None, body: dict[str, Any] | None = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = self._client.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ServerError(
                f"server {self.url}: expected a prediction server, got {type(exc).__name__}: {exc}"
            ) from exc
        try:
            data = response.json()
        except ValueError:
            data = {"error": response.text[:200]}
        if response.status_code == 404:
            raise NotFoundError(
                str(data.get("error", "not found")) if isinstance(data, dict) else "not found"
            )
        if response.status_code in (400, 422):
            raise ValidationError(
                f"server {self.url}: {data.get('error') if isinstance(data, dict) else data}",
                field=data.get("field") if isinstance(data, dict) else None,
            )
        if response.status_code >= 300:
            message = data.get("error") if isinstance(data, dict) else data
            raise ServerError(f"server {self.url} answered {response.status_code}: {message}")
        return data

    def routing(self, model: str) -> dict[str, Any] | None:
        """Running and finished experiments of ``model`` (None when none has run on the server)."""
        try:
            data = self._call("GET", f"/routing/{model}", token=self._api)
        except NotFoundError:
            return None
        found = data.get(model) if isinstance(data, dict) else None
        return found if isinstance(found, dict) else None

    def start(self, model: str, deployment: dict[str, Any], versions: list[str]) -> dict[str, Any]:
        """Start (or replace) the experiment of ``model``: a deployment section and its challenger versions."""
        status = self._call(
            "PUT",
            f"/admin/models/{model}/routing",
            token=self._admin,
            body={**deployment, "versions": versions},
        )
        return status if isinstance(status, dict) else {"status": status}

    def stop(self, model: str) -> dict[str, Any]:
        """Stop the running experiment of ``model``; the champion keeps serving."""
        status = self._call("DELETE", f"/admin/models/{model}/routing", token=self._admin)
        return status if isinstance(status, dict) else {"status": status}


__all__ = ["PredictionServer", "ServerError"]
