"""Shared FastAPI dependencies: the container and its services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from newsrag.api.container import Container, Services


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def get_services(container: Annotated[Container, Depends(get_container)]) -> Services:
    return container.services


ContainerDep = Annotated[Container, Depends(get_container)]
ServicesDep = Annotated[Services, Depends(get_services)]
