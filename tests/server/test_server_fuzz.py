"""Schemathesis against the OpenAPI spec on a real server: no 5xx, no schema violations.

Every operation gets a bounded number of generated requests, valid ones and invalid ones;
each response must be documented (status, content type, body schema) and none may be a
server error; invalid requests must be refused. Endpoints that hold the connection open
by design (the event stream, long polls) have their own tests, so this run stays short.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance
from server_workload import Served, served_iter

MAX_EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 4}
LONG_POLLS = ("/api/events", "/api/mailbox", "/api/processes/{pid}/wait")


@pytest.fixture(scope="module")
def fuzz_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from served_iter(Path(tmp_path_factory.mktemp("fuzz")) / "state")


@pytest.fixture(scope="module")
def fuzz_token(fuzz_served: Served) -> str:
    # An admin key (so every route is reached) that may spawn only a harmless program: the
    # fuzzer cannot make the server import arbitrary modules.
    return fuzz_served.key(f"fuzz-{secrets.token_hex(8)}", ["admin"], programs=("chatty",))


def _spec_without_auth(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with its security requirements removed: the key is sent with every request
    anyway, and a "negative" case that drops it would be answered 401 by design."""
    out = copy.deepcopy(spec)
    for item in out["paths"].values():
        for operation in item.values():
            operation.pop("security", None)
    return out


def _fuzz(operation: Any, mode: GenerationMode, served: Served, token: str) -> None:
    # A file path the schema allows can still be refused by the kernel's rules on paths
    # (relative, no '..', no trailing '/'), which a JSON schema cannot state.
    semantic = operation.path.startswith("/api/files/")
    excluded = [positive_data_acceptance] if semantic else []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES[mode],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: Any) -> None:
        response = case.call(
            base_url=served.url, headers={"Authorization": f"Bearer {token}"}, timeout=15
        )
        case.validate_response(response, excluded_checks=excluded)

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_spec(
    fuzz_served: Served, fuzz_token: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_dict(_spec_without_auth(fuzz_served.app.openapi()))
    failures: list[str] = []
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in LONG_POLLS:
            continue
        try:
            _fuzz(operation, mode, fuzz_served, fuzz_token)
            tried += 1
        except Unsatisfiable:
            continue  # nothing to make invalid (e.g. /health takes no input)
        except (Exception, BaseExceptionGroup) as exc:  # report every failing operation
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert tried >= 30
    # The server is still serving after all of it.
    assert fuzz_served.client(fuzz_token).get("/health").status_code == 200
