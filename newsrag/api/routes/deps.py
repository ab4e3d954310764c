"""Shared FastAPI dependencies: the container, its services, and each service a router needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from newsrag.api.container import Container, Services
from newsrag.ingest.documents import DocumentsService
from newsrag.ingest.sources.service import SourcesService


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def get_services(container: ContainerDep) -> Services:
    return container.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_documents(services: ServicesDep) -> DocumentsService:
    return services.documents


DocumentsDep = Annotated[DocumentsService, Depends(get_documents)]


def get_sources(services: ServicesDep) -> SourcesService:
    return services.sources


SourcesDep = Annotated[SourcesService, Depends(get_sources)]
