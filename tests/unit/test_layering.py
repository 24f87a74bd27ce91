"""Each service's settings hold a URL only for the layer directly below it (ARCHITECTURE §1).

Import rules are checked by import-linter; HTTP calls can't be, so this test pins the only way
a service could reach another: the base URLs in its settings.
"""

from __future__ import annotations

import importlib

import pytest
from pydantic_settings import BaseSettings

# service settings module -> the service URLs it may hold (Redis and the platforms are not services)
ALLOWED = {
    "revbridge_gateway.settings": {"experience_api_url", "process_api_url"},
    "revbridge_experience.settings": {"process_api_url"},
    "revbridge_process.settings": {"system_api_url"},
    "revbridge_system.settings": set(),
}
SERVICE_URL_FIELDS = {"gateway_url", "experience_api_url", "process_api_url", "system_api_url"}


def url_fields(settings_cls: type[BaseSettings]) -> set[str]:
    names: set[str] = set()
    for name, field in settings_cls.model_fields.items():
        if name.endswith("_url") and name != "redis_url":
            names.add(name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            names |= url_fields(annotation)
    return names


@pytest.mark.parametrize("module_name", sorted(ALLOWED))
def test_settings_reach_only_the_layer_below(module_name: str) -> None:
    settings_cls = importlib.import_module(module_name).Settings
    service_urls = url_fields(settings_cls) & SERVICE_URL_FIELDS
    assert service_urls == ALLOWED[module_name]


def test_system_api_holds_only_platform_urls() -> None:
    from revbridge_system.settings import Settings

    urls = url_fields(Settings)
    assert urls, "the system API must hold the platforms' URLs"
    assert not urls & SERVICE_URL_FIELDS
