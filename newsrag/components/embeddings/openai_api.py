"""The ``openai`` backend: any OpenAI-compatible ``/v1/embeddings`` endpoint."""

from __future__ import annotations

import numpy as np

from newsrag.components.embeddings import Matrix, normalise
from newsrag.errors import ServiceUnavailable


class OpenAIEmbedder:
    """Any OpenAI-compatible embeddings endpoint, through the openai SDK; the dimension is
    read from one probe request at construction."""

    def __init__(
        self, model: str, base_url: str | None, api_key: str | None, batch_size: int
    ) -> None:
        from openai import OpenAI

        self._client = OpenAI(base_url=base_url, api_key=api_key or "unused", max_retries=2)
        self._model = model
        self._batch_size = batch_size
        self.name = f"openai:{model}"
        self.dimension = len(self._request(["dimension probe"])[0])

    def _request(self, texts: list[str]) -> list[list[float]]:
        from openai import OpenAIError

        try:
            response = self._client.embeddings.create(model=self._model, input=texts)
        except OpenAIError as exc:
            raise ServiceUnavailable(f"the embeddings endpoint failed: {exc}") from exc
        return [item.embedding for item in response.data]

    def embed(self, texts: list[str]) -> Matrix:
        rows: list[list[float]] = []
        for offset in range(0, len(texts), self._batch_size):
            rows.extend(self._request(texts[offset : offset + self._batch_size]))
        return normalise(np.asarray(rows, dtype=np.float32).reshape(len(rows), -1))
